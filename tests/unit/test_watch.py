"""`borealis up --targets FILE` before anything starts, and the cluster commands on a state
directory that watches targets: one line each, a non-zero exit, nothing started."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from borealis import watch
from core.errors import BorealisError
from core.settings import load_settings
from tests.conftest import LIFECYCLE_PORTS, borealis
from tests.unit.test_cli_input import one_line_error

PORTS = LIFECYCLE_PORTS + 400  # nothing else listens at base+460..493

GOOD = """\
clusters:
  - id: mine
    instances:
      - id: mine-1
        dsn: "host=127.0.0.1 port=1 user=monitor password=hunter2 dbname=postgres"
"""


def env() -> dict[str, str]:
    return {"BOREALIS_PORTS__BASE": str(PORTS)}


def test_a_bad_targets_file_names_file_and_line(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD.replace("        dsn:", "        port: 5432\n        dsn:"))
    state = tmp_path / "state"
    done = borealis(
        "up", "--detach", "--targets", str(targets), "--state-dir", str(state), env=env()
    )
    line = one_line_error(done, 1)
    assert f"{targets}:5: unknown key 'port'" in line
    assert not (state / "run" / "supervisor.pid").exists()  # nothing was started


def test_a_missing_targets_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = borealis("up", "--targets", str(missing), "--state-dir", str(tmp_path / "s"), env=env())
    assert f"the targets file {missing} does not exist" in one_line_error(done, 1)


def test_readers_make_no_sense_with_targets(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD)
    done = borealis(
        "up", "--targets", str(targets), "--readers", "3", "--state-dir", str(tmp_path / "s")
    )
    assert "--readers is for the mini-cluster" in one_line_error(done, 1)


def test_a_state_dir_holding_a_cluster_is_refused(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path / "state")})
    paths = settings.state_paths()
    paths.root.mkdir()
    paths.topology.write_text("{}")
    with pytest.raises(BorealisError, match="holds a Borealis cluster"):
        watch.preflight(settings, paths, str(tmp_path / "targets.yaml"))


@pytest.mark.parametrize(
    "command",
    [
        ["failover"],
        ["reboot", "mine-1"],
        ["fault", "kill-writer"],
        ["workload", "--duration", "1"],
        ["trail"],
    ],
)
def test_cluster_commands_say_there_is_no_cluster(tmp_path: Path, command: list[str]) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD)
    state = tmp_path / "state"
    state.mkdir()
    # What `up --targets` records when it starts (the stack itself need not run).
    (state / watch.RECORD_NAME).write_text(f"{targets}\n")
    done = borealis(*command, "--state-dir", str(state), env=env())
    line = one_line_error(done, 1)
    assert line.endswith(f"no Borealis cluster: this stack watches targets from {targets}")


def test_status_of_a_stopped_targets_stack_lists_its_targets_down(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD)
    state = tmp_path / "state"
    state.mkdir()
    (state / watch.RECORD_NAME).write_text(f"{targets}\n")
    done = borealis("status", "--json", "--state-dir", str(state), env=env())
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["mode"] == "targets"
    assert status["targets_file"] == str(targets)
    assert status["services"] == {}
    # Nothing watches them while the stack is stopped: neither up nor down.
    assert [(t["db_instance"], t["up"]) for t in status["targets"]] == [("mine-1", None)]
    assert "hunter2" not in done.stdout
    text = borealis("status", "--state-dir", str(state), env=env())
    assert text.returncode == 0, text.stderr
    assert f"watching {targets}" in text.stdout
    assert "mine/mine-1" in text.stdout and " ? " in text.stdout


def test_a_busy_port_stops_the_start_in_one_line(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD)
    state = tmp_path / "state"
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", PORTS + 60))  # ports.ui
        busy.listen(1)
        done = borealis(
            "up", "--detach", "--targets", str(targets), "--state-dir", str(state), env=env()
        )
    line = one_line_error(done, 1)
    assert f"port {PORTS + 60} (ports.ui) on 127.0.0.1 is already in use" in line
    assert not list((state / "run").glob("*.pid"))  # nothing was started, nothing is left


def test_no_prometheus_binary_is_one_line_and_no_postgresql_is_needed(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text(GOOD)
    done = borealis(
        "up",
        "--detach",
        "--targets",
        str(targets),
        "--state-dir",
        str(tmp_path / "state"),
        env={
            **env(),
            "BOREALIS_PROMETHEUS__BINARY": str(tmp_path / "no-prometheus"),
            "BOREALIS_PG_BIN": str(tmp_path / "no-postgresql"),  # not what this one says
        },
    )
    line = one_line_error(done, 1)
    assert "the Prometheus binary" in line and "no-prometheus" in line
    assert "no-postgresql" not in line
