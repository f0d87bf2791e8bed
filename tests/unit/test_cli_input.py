"""Bad input on the command line or in the state directory: one line, a non-zero exit, no
traceback. Each case runs the real `borealis` command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from core.credentials import Credentials
from core.topology import plan_topology
from tests.conftest import borealis


def one_line_error(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["events", "--minutes", "1e12"], "argument --minutes: expected a number more than 0"),
        (["events", "--minutes", "inf"], "got 'inf'"),
        (["events", "--minutes", "nan"], "got 'nan'"),
        (["events", "--minutes", "-1"], "got '-1'"),
        (["events", "--minutes", "soon"], "expected a number, got 'soon'"),
        (["trail", "--minutes", "inf"], "argument --minutes"),
        (["up", "--timeout", "inf"], "argument --timeout"),
        (["up", "--readers", "99"], "argument --readers: expected 1 to 15, got '99'"),
        (["workload", "--rate", "nan"], "argument --rate"),
        (["workload", "--duration", "-5"], "argument --duration"),
        (["workload", "--clients", "0"], "argument --clients: expected 1 to 50"),
        (["fault", "no-such-fault"], "invalid choice: 'no-such-fault'"),
    ],
)
def test_bad_numbers_and_choices_are_one_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = borealis(*args, "--state-dir", str(tmp_path), timeout=60)
    line = one_line_error(done, 2)
    assert line.startswith("borealis")
    assert expected in line


def _cluster_files(state: Path) -> None:
    state.mkdir(exist_ok=True)
    plan_topology("borealis", "local-1", 1, 5000).save(state / "topology.json")
    Credentials.generate().save(state / "secrets.json")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "Invalid JSON"),
        ('{"cluster_id": "x"}', "Field required"),
        ("null", "Input should be an object"),
    ],
)
def test_corrupt_topology(tmp_path: Path, content: str, expected: str) -> None:
    _cluster_files(tmp_path)
    (tmp_path / "topology.json").write_text(content)
    line = one_line_error(borealis("status", "--state-dir", str(tmp_path), timeout=60), 1)
    assert f"{tmp_path / 'topology.json'} is not a valid topology file" in line
    assert expected in line and "restore it from a backup" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "Invalid JSON"),
        ('{"superuser": "p1", "replicator": "p2", "monitor": "p3"}', "app: Field required"),
        ('{"superuser": "p1", "replicator": "p2", "monitor": "p3", "app": 7}', "app: Input"),
    ],
)
def test_corrupt_secrets(tmp_path: Path, content: str, expected: str) -> None:
    _cluster_files(tmp_path)
    (tmp_path / "secrets.json").write_text(content)
    done = borealis("workload", "--duration", "1", "--state-dir", str(tmp_path), timeout=60)
    line = one_line_error(done, 1)
    assert f"{tmp_path / 'secrets.json'} is not a valid secrets file" in line
    assert expected in line and "p1" not in line


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("not a directory")
    line = one_line_error(borealis("events", "--state-dir", str(state), timeout=60), 1)
    assert f"the state directory {state} is a file" in line


def test_corrupt_event_store(tmp_path: Path) -> None:
    (tmp_path / "events.db").write_bytes(b"this is no database, only text " * 200)
    line = one_line_error(borealis("events", "--state-dir", str(tmp_path), timeout=60), 1)
    assert f"{tmp_path / 'events.db'} is not a usable SQLite database" in line


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = borealis("status", "--config", str(missing), "--state-dir", str(tmp_path), timeout=60)
    assert f"cannot read {missing}" in one_line_error(done, 1)


def test_corrupt_data_root_record(tmp_path: Path) -> None:
    _cluster_files(tmp_path)
    (tmp_path / "pg-root").write_text("somewhere/relative\n")
    line = one_line_error(borealis("status", "--state-dir", str(tmp_path), timeout=60), 1)
    assert f"{tmp_path / 'pg-root'} must hold the absolute path" in line


def test_offline_status_reports_where_the_data_lives(tmp_path: Path) -> None:
    _cluster_files(tmp_path)
    (tmp_path / "pg-root").write_text("/var/lib/borealis/somewhere\n")
    done = borealis("status", "--json", "--state-dir", str(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["data_root"] == "/var/lib/borealis/somewhere"
    assert status["state_dir"] == str(tmp_path)
