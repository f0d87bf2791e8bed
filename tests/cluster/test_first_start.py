"""A user's first steps: `make up` in a fresh clone in a private home directory, and a start
that cannot succeed saying why in one line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LIFECYCLE_PORTS, borealis, child_env, stack_processes

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
CLONE_PORTS = LIFECYCLE_PORTS + 500  # a stack's ports are base+32..base+93
BUSY_PORTS = LIFECYCLE_PORTS + 300


def make_env(extra: dict[str, str]) -> dict[str, str]:
    """What a user's shell has: no make variables of an outer `make test`."""
    env = child_env(extra)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Path]:
    """This checkout's HEAD cloned into a home directory of mode 0700, as root's is."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chmod(home, 0o700)
    target = home / "borealis"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, timeout=120)
    yield target
    subprocess.run(
        [str(target / ".venv" / "bin" / "borealis"), "down"],
        cwd=target,
        capture_output=True,
        env=make_env({"BOREALIS_PORTS__BASE": str(CLONE_PORTS)}),
        timeout=300,
        check=False,
    )
    record = target / ".borealis" / "pg-root"
    if record.is_file():
        data_root = Path(record.read_text().strip())
        mark = data_root / ".borealis-state-dir"
        if mark.is_file() and mark.read_text().strip() == str((target / ".borealis").resolve()):
            shutil.rmtree(data_root, ignore_errors=True)


@pytest.mark.timeout(1500)
def test_make_up_in_a_fresh_clone_in_a_private_home(clone: Path) -> None:
    env = make_env({"BOREALIS_PORTS__BASE": str(CLONE_PORTS)})
    up = subprocess.run(
        ["make", "--no-print-directory", "up"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    assert "Borealis is up." in up.stdout
    assert "Traceback" not in up.stderr

    cli = str(clone / ".venv" / "bin" / "borealis")
    done = subprocess.run(
        [cli, "status", "--json"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["ready"] is True
    assert all(i["state"] == "available" for i in status["instances"])
    assert status["state_dir"] == str(clone / ".borealis")
    data_root = Path(status["data_root"])
    assert data_root.parent == Path("/var/lib/borealis")
    assert data_root.name.startswith("borealis-")
    assert (clone / ".borealis" / "pg-root").read_text().strip() == str(data_root)
    writer = next(i for i in status["instances"] if i["role"] == "writer")
    assert (data_root / "data" / writer["id"] / "PG_VERSION").is_file()

    down = subprocess.run(
        ["make", "--no-print-directory", "down"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    assert stack_processes(clone, data_root) == []


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Something else listening on the port the stack's Prometheus wants."""
    port = BUSY_PORTS + 90
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen(1)
    yield port
    holder.close()


def test_a_busy_port_is_one_line_from_up_detach_and_make_up(
    shared_tmp: Path, busy_port: int
) -> None:
    state = shared_tmp / "busy"
    data_root = shared_tmp / "busy-pg"
    env = {"BOREALIS_PORTS__BASE": str(BUSY_PORTS), "BOREALIS_PG_ROOT": str(data_root)}
    done = borealis("up", "--detach", "--state-dir", str(state), env=env, timeout=120)
    line = one_line(done, 1)
    assert line.startswith(f"borealis up: port {busy_port} (ports.prometheus) on 127.0.0.1 is")
    assert "BOREALIS_PORTS__PROMETHEUS" in line

    made = subprocess.run(
        ["make", "--no-print-directory", "up"],
        cwd=REPO,
        env=make_env({**env, "BOREALIS_STATE_DIR": str(state)}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode != 0
    assert made.stdout == ""
    assert "Traceback" not in made.stderr
    reason, make_line = made.stderr.strip().splitlines()
    assert reason == line
    assert make_line.startswith("make: *** [") and make_line.endswith("] Error 1")

    assert stack_processes(state, data_root) == []
    assert not data_root.exists()  # nothing was started, nothing was created


def test_unreachable_data_root_and_missing_binary(shared_tmp: Path, tmp_path: Path) -> None:
    state = shared_tmp / "refused"
    env = {"BOREALIS_PORTS__BASE": str(BUSY_PORTS), "BOREALIS_PG_ROOT": str(tmp_path / "pg")}
    done = borealis("up", "--detach", "--state-dir", str(state), env=env, timeout=120)
    line = one_line(done, 1)
    assert "the postgres OS user cannot enter" in line and "BOREALIS_PG_ROOT" in line

    env = {
        "BOREALIS_PORTS__BASE": str(BUSY_PORTS),
        "BOREALIS_PG_ROOT": str(shared_tmp / "refused-pg"),
        "BOREALIS_PROMETHEUS__BINARY": "/nonexistent/prometheus",
    }
    done = borealis("up", "--detach", "--state-dir", str(state), env=env, timeout=120)
    assert "'/nonexistent/prometheus' was not found" in one_line(done, 1)
    assert stack_processes(state) == []


def test_a_cluster_that_cannot_be_created_says_why(shared_tmp: Path) -> None:
    state = shared_tmp / "uncreatable"
    data_root = shared_tmp / "uncreatable-pg"
    env = {
        "BOREALIS_PORTS__BASE": str(BUSY_PORTS),
        "BOREALIS_PG_ROOT": str(data_root),
        "BOREALIS_INSTANCE__EXTRA__NO_SUCH_SETTING": "on",
    }
    done = borealis(
        "up", "--detach", "--readers", "1", "--no-workload", "--state-dir", str(state), env=env
    )
    line = one_line(done, 1)
    assert "borealis-instance-1 exited while starting" in line
    assert stack_processes(state, data_root) == []
