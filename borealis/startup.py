"""What `borealis up` checks before it starts anything, and how a detached start reports.

Every check fails with one line that says what is wrong and what to do. The supervisor writes
the reason its start failed to `<state>/run/supervisor.failed`, where `up --detach` (the
parent that is waiting for it) reads it.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from borealis import alertmanager, control
from borealis.services import stop_stale
from cluster import pgctl
from cluster.layout import check_ownership, check_reachable
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings import Settings, settings_to_json
from core.topology import Topology
from core.waiting import WaitTimeout, wait_until
from core.webauth import listen_warning

PG_TOOLS = ("initdb", "postgres", "pg_basebackup", "pg_rewind", "pg_receivewal", "pg_waldump")
SERVICES = (
    "collector",
    "prometheus",
    "ui",
    "cloudwatch",
    "webhook",
    "alertmanager",
    "workload",
)
SERVICE_PORTS = (
    "cluster_endpoint",
    "reader_endpoint",
    "collector",
    "pi",
    "prometheus",
    "ui",
    "cloudwatch",
    "webhook",
    "alertmanager",
)


log = logging.getLogger(__name__)


def warn_if_exposed(settings: Settings) -> None:
    """Say in the log when the HTTP services listen off loopback (plain HTTP, no TLS)."""
    warning = listen_warning(settings)
    if warning is not None:
        log.warning("up: %s", warning)


def failure_file(paths: StatePaths) -> Path:
    return paths.run / "supervisor.failed"


def record_failure(paths: StatePaths, reason: str) -> None:
    """Leave the reason a start failed where the waiting `up --detach` looks for it."""
    try:
        paths.run.mkdir(parents=True, exist_ok=True)
        failure_file(paths).write_text(reason.strip() + "\n")
    except OSError:
        pass  # the log still has it


def env_name(key: str) -> str:
    return "BOREALIS_" + key.upper().replace(".", "__")


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As a server would: a connection in TIME_WAIT does not make the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen(1)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def wanted_ports(settings: Settings, paths: StatePaths) -> list[tuple[int, str]]:
    """(port, what sets it) for every port the stack is about to listen on."""
    wanted = [(settings.ports.port(name), f"ports.{name}") for name in SERVICE_PORTS]
    if paths.topology.exists():
        topology = Topology.load(paths.topology)
        for spec in topology.instances:
            if pgctl.is_alive(pgctl.postmaster_pid(paths.data_dir(spec.id))):
                continue  # this stack's own instance, left running: the manager adopts it
            wanted.append((spec.port, f"ports.first_instance, instance {spec.id} of topology.json"))
    else:
        first = settings.ports.port("first_instance")
        for index in range(settings.readers + 1):
            key = "ports.first_instance" + (f" + {index}" if index else "")
            wanted.append((first + index, key))
    return wanted


def check_ports(
    settings: Settings, paths: StatePaths, wanted: list[tuple[int, str]] | None = None
) -> None:
    """Fail in one line when a port this stack wants (default: the mini-cluster's) is busy."""
    if wanted is None:
        wanted = wanted_ports(settings, paths)
    busy = [(port, key) for port, key in wanted if not _port_free(settings.listen_host, port)]
    if not busy:
        return
    port, key = busy[0]
    setting = key.split(",")[0].split(" ")[0]
    more = f" (and {len(busy) - 1} more: " + ", ".join(f"{p} {k}" for p, k in busy[1:]) + ")"
    raise BorealisError(
        f"port {port} ({key}) on {settings.listen_host} is already in use"
        f"{more if len(busy) > 1 else ''}; stop what listens there, or set {setting} "
        f"({env_name(setting)}) or ports.base (BOREALIS_PORTS__BASE) to free ports"
    )


def check_binaries(settings: Settings) -> None:
    missing = [name for name in PG_TOOLS if not (settings.pg_bin / name).is_file()]
    if missing:
        raise BorealisError(
            f"{', '.join(missing)} not found in {settings.pg_bin}: run `make install` "
            "(it installs postgresql-15) or set pg_bin to PostgreSQL 15's bin directory"
        )
    check_service_binaries(settings)


def check_service_binaries(settings: Settings) -> None:
    """The binaries of the monitoring services (what a stack watching targets needs)."""
    binary = settings.prometheus.binary
    if shutil.which(binary) is None:
        raise BorealisError(
            f"the Prometheus binary {binary!r} was not found: run `make install` (it installs "
            "the prometheus package) or set prometheus.binary to its path"
        )
    binary = settings.alertmanager.binary
    if shutil.which(binary) is None:
        raise BorealisError(
            f"the Alertmanager binary {binary!r} was not found: run `make install` (it installs "
            "the prometheus-alertmanager package) or set alertmanager.binary to its path"
        )
    if settings.alertmanager.receivers_file:
        # A wrong receivers file stops the start before any process runs (file:line: reason).
        alertmanager.load_receivers(Path(settings.alertmanager.receivers_file))


def check_data_root(settings: Settings, paths: StatePaths) -> None:
    user = pgctl.OsUser.lookup(settings.os_user)
    check_reachable(paths.pg, user)
    check_ownership(paths)


def stop_leftover_services(paths: StatePaths) -> list[str]:
    """Services an earlier supervisor left running (it was killed) hold this stack's ports."""
    found = [stop_stale(paths.pid_file(name)) for name in SERVICES]
    return [line for line in found if line]


def preflight(settings: Settings, paths: StatePaths) -> list[str]:
    """Everything `up` can know is wrong before it starts a single process; returns what an
    earlier run left behind and was cleaned up."""
    check_binaries(settings)
    check_data_root(settings, paths)
    found = stop_leftover_services(paths)
    check_ports(settings, paths)
    return found


def claim_state_dir(settings: Settings, paths: StatePaths) -> list[str]:
    """Make the state directory this supervisor's: its pid file, and the settings its
    children read. A failure is left for the waiting `up --detach` and raised as one line.
    Returns a line when an earlier supervisor died without removing its pid file."""
    found = []
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        paths.run.mkdir(parents=True, exist_ok=True)
        paths.logs.mkdir(parents=True, exist_ok=True)
        pid = pgctl.read_pid(paths.supervisor_pid)
        if pid and pid != os.getpid() and pgctl.is_alive(pid):
            raise BorealisError(
                f"a Borealis stack is already running for {paths.root} (pid {pid}); "
                "`borealis status` shows it, `borealis down` stops it"
            )
        if pid and pid != os.getpid():
            found.append(f"the supervisor (pid {pid}) was not shut down cleanly: pid file replaced")
        paths.supervisor_pid.write_text(f"{os.getpid()}\n")
        # Settings may carry secrets (OTLP headers): readable by root only.
        settings_file = paths.run / "settings.json"
        fd = os.open(settings_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(settings_to_json(settings))
        os.chmod(settings_file, 0o600)
    except OSError as exc:
        reason = f"cannot use the state directory {paths.root}: {exc.strerror or exc}"
        record_failure(paths, reason)
        raise BorealisError(reason) from None
    except BorealisError as exc:
        record_failure(paths, str(exc))
        raise
    return found


class _Exited(Exception):
    """The detached supervisor exited before it was ready (not retried by the wait)."""


def start_detached(settings: Settings, argv: list[str], timeout: float) -> dict[str, Any]:
    """Start `borealis up` in the background; return its status once everything is healthy."""
    paths = settings.state_paths()
    paths.logs.mkdir(parents=True, exist_ok=True)
    failure_file(paths).unlink(missing_ok=True)
    log_file = paths.service_log("supervisor")
    with open(log_file, "ab") as handle:
        child = subprocess.Popen(
            [sys.executable, "-m", "borealis", *argv],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready() -> dict[str, Any]:
        if child.poll() is not None:
            raise _Exited(_exit_reason(paths, child.returncode))
        status = control.request(paths.control_socket, "status", timeout=10)
        return dict(status) if status.get("ready") else {}  # {}: not yet

    try:
        return wait_until(
            ready, timeout=timeout, interval=0.5, retry_on=(BorealisError,), what="a ready stack"
        )
    except _Exited as exc:
        raise BorealisError(str(exc)) from None
    except WaitTimeout as exc:
        last_error = str(exc.last_error or "")
    raise BorealisError(
        f"the stack did not become healthy within {timeout:.0f} s ({last_error}); see {log_file}"
    )


def _exit_reason(paths: StatePaths, returncode: int) -> str:
    try:
        reason = failure_file(paths).read_text().strip()
    except OSError:
        reason = ""
    if reason:
        return reason
    log_file = paths.service_log("supervisor")
    return f"the supervisor exited with {returncode}: {control.log_tail(log_file)}"
