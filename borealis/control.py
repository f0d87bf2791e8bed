"""The supervisor's control channel: JSON lines over a Unix socket in the state directory.

Only root (the socket is mode 0600) can ask the running stack for its status or to act.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from borealis import __version__
from core.errors import BorealisError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]
USER_AGENT = f"borealis-cli/{__version__}"


class SupervisorNotRunning(BorealisError):
    pass


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    handlers: dict[str, Handler]


class _RequestHandler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline(1 << 20)
        try:
            request = json.loads(line)
            request["_peer"] = _peer_credentials(self.request)
            op = request.get("op")
            handler = self.server.handlers.get(op)
            if handler is None:
                raise BorealisError(f"unknown operation {op!r}")
            reply: dict[str, Any] = {"ok": True, "result": handler(request)}
        except BorealisError as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("control request failed")
            reply = {"ok": False, "error": f"internal error: {exc}"}
        self.wfile.write((json.dumps(reply) + "\n").encode())


def _peer_credentials(sock: socket.socket) -> dict[str, int]:
    """Who is on the other end (SO_PEERCRED): the control-plane trail records it."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return {"pid": pid, "uid": uid, "gid": gid}


# sun_path holds 108 bytes: a checkout deep in a home directory can go beyond that.
_MAX_SOCKET_PATH = 100


@contextlib.contextmanager
def _socket_address(path: Path) -> Iterator[str]:
    """An address for `path` that fits in sun_path: the path itself, or (when too long) the
    same file reached through an open descriptor of its directory (/proc/self/fd/N/name)."""
    if len(os.fsencode(str(path))) <= _MAX_SOCKET_PATH:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler]) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        old_umask = os.umask(0o077)
        try:
            with _socket_address(path) as address:
                self._server = _Server(address, _RequestHandler)
        finally:
            os.umask(old_umask)
        self._server.handlers = handlers
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


def log_tail(log_file: Path, lines: int = 3) -> str:
    """The last lines of a log, joined on one line (what a one-line error can carry)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return f"(no log at {log_file})"
    tail = [line.strip() for line in text.strip().splitlines()[-lines:] if line.strip()]
    return " | ".join(tail) if tail else f"(nothing in {log_file})"


def supervisor_log(socket_path: Path) -> Path:
    """The supervisor's log: `<state>/logs/supervisor.log` next to `<state>/run/control.sock`."""
    return socket_path.parent.parent / "logs" / "supervisor.log"


def request(path: Path, op: str, timeout: float = 300.0, **params: Any) -> Any:
    """Send one request to the running supervisor and return its result.

    Every failure is a `BorealisError`: `SupervisorNotRunning` when nothing listens, else one
    that carries the last lines of the supervisor's log."""
    not_running = f"no Borealis stack is running for {path.parent.parent}"
    if not path.exists():
        raise SupervisorNotRunning(not_running)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        try:
            with _socket_address(path) as address:
                client.connect(address)
        except FileNotFoundError:
            raise SupervisorNotRunning(not_running) from None
        except ConnectionRefusedError:
            # The socket is there, nobody answers: the supervisor died without cleaning up.
            log_file = supervisor_log(path)
            raise SupervisorNotRunning(
                f"{not_running} (its control socket is left but nothing answers); "
                f"{log_file} ends: {log_tail(log_file)}"
            ) from None
        message = {"op": op, "user_agent": USER_AGENT, **params}
        client.sendall((json.dumps(message) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        raise _failed(
            path, f"the supervisor did not answer {op!r} within {timeout:.0f} s"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _failed(path, f"the control socket failed during {op!r} ({reason})") from None
    finally:
        client.close()
    if not data:
        raise _failed(path, f"the supervisor closed the connection during {op!r}")
    if not data.endswith(b"\n"):
        raise _failed(path, f"the supervisor's reply to {op!r} was cut short")
    try:
        reply = json.loads(data)
    except ValueError:
        raise _failed(path, f"the supervisor's reply to {op!r} is not JSON") from None
    if not isinstance(reply, dict):
        raise _failed(path, f"the supervisor's reply to {op!r} is not a JSON object")
    if not reply.get("ok"):
        raise BorealisError(str(reply.get("error", "unknown error")))
    return reply.get("result")


def _failed(path: Path, what: str) -> BorealisError:
    log_file = supervisor_log(path)
    return BorealisError(f"{what}; {log_file} ends: {log_tail(log_file)}")
