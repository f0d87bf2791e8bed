"""Every way the control socket can fail is a BorealisError carrying the supervisor's log."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from borealis import control, startup
from core.errors import BorealisError
from core.settings import load_settings
from tests.conftest import LIFECYCLE_PORTS

Behaviour = Callable[[socket.socket], None]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    (tmp_path / "run").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "supervisor.log").write_text(
        "starting\nERROR the postgres OS user cannot enter /root\nexiting\n"
    )
    return tmp_path


@pytest.fixture
def serve(state: Path) -> Iterator[Callable[[Behaviour], Path]]:
    servers: list[socket.socket] = []

    def start(behaviour: Behaviour) -> Path:
        path = state / "run" / "control.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(1)
        servers.append(server)

        def accept() -> None:
            conn, _ = server.accept()
            conn.recv(1, socket.MSG_PEEK)  # the request has arrived; behaviours read it or not
            behaviour(conn)

        threading.Thread(target=accept, daemon=True).start()
        return path

    yield start
    for server in servers:
        server.close()


def _close(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.close()


def _reset(conn: socket.socket) -> None:
    conn.close()  # the request unread: the client's next read is a connection reset


def _not_json(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"<html>nope</html>\n")
    conn.close()


def _truncated(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b'{"ok": true, "result": {"rea')
    conn.close()


def _not_object(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"[1, 2]\n")
    conn.close()


@pytest.mark.parametrize(
    ("behaviour", "what"),
    [
        (_close, "closed the connection"),
        (_reset, "control socket failed"),
        (_not_json, "is not JSON"),
        (_truncated, "cut short"),
        (_not_object, "not a JSON object"),
    ],
)
def test_client_errors_carry_the_log_tail(
    serve: Callable[[Behaviour], Path], behaviour: Behaviour, what: str
) -> None:
    path = serve(behaviour)
    with pytest.raises(BorealisError) as caught:
        control.request(path, "status", timeout=5)
    message = str(caught.value)
    assert what in message
    assert "cannot enter /root | exiting" in message
    assert "\n" not in message


def test_nothing_listening_is_not_running(state: Path) -> None:
    path = state / "run" / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: connection refused
    with pytest.raises(control.SupervisorNotRunning) as caught:
        control.request(path, "status", timeout=5)
    assert "nothing answers" in str(caught.value)
    assert "cannot enter /root | exiting" in str(caught.value)
    path.unlink()
    with pytest.raises(control.SupervisorNotRunning, match="no Borealis stack is running"):
        control.request(path, "status", timeout=5)


def test_a_busy_port_is_named_with_its_settings_key(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    try:
        settings = load_settings(
            environ={},
            overrides={
                "state_dir": str(tmp_path),
                "ports.base": LIFECYCLE_PORTS + 800,  # the others free: this test's range
                "ports.prometheus": busy,
            },
        )
        with pytest.raises(BorealisError) as caught:
            startup.check_ports(settings, settings.state_paths())
    finally:
        holder.close()
    message = str(caught.value)
    assert f"port {busy} (ports.prometheus)" in message
    assert "BOREALIS_PORTS__PROMETHEUS" in message


def test_a_missing_binary_is_named(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, overrides={"state_dir": str(tmp_path), "prometheus.binary": "/nope/prom"}
    )
    with pytest.raises(BorealisError, match="'/nope/prom' was not found"):
        startup.check_binaries(settings)
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path), "pg_bin": "/nope"})
    with pytest.raises(BorealisError, match=r"initdb, postgres, .* not found in /nope"):
        startup.check_binaries(settings)


def test_a_socket_path_beyond_sun_path_still_serves(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "run"
    deep.mkdir(parents=True)
    path = deep / "control.sock"
    assert len(str(path)) > 108
    server = control.ControlServer(path, {"status": lambda request: {"ready": True}})
    server.start()
    try:
        assert control.request(path, "status", timeout=5) == {"ready": True}
        assert path.exists()
    finally:
        server.stop()
    assert not path.exists()
