"""`up`'s start-up checks against real sockets and processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from borealis import startup
from cluster import pgctl
from core.settings import load_settings
from tests.conftest import LIFECYCLE_PORTS, wait_for


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="borealis-unit-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


PORTS = LIFECYCLE_PORTS + 900  # nothing of the cluster tier listens at base+932..993


def test_a_service_a_killed_supervisor_left_is_stopped_not_reported(open_tmp: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "state_dir": str(open_tmp / "state"),
            "pg_root": str(open_tmp / "pg"),
            "ports.base": PORTS,
        },
    )
    port = settings.ports.port("prometheus")
    paths = settings.state_paths()
    paths.run.mkdir(parents=True)
    leftover = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        paths.pid_file("prometheus").write_text(f"{leftover.pid}\n")
        wait_for(lambda: not startup._port_free("127.0.0.1", port), 10, what="the leftover")
        startup.preflight(settings, paths)
        assert leftover.wait(timeout=10) is not None
        assert not paths.pid_file("prometheus").exists()
        assert not pgctl.is_alive(leftover.pid)
    finally:
        leftover.kill()
        leftover.wait()
