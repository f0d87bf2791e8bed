"""`borealis down` and the status of a stack whose supervisor is not running."""

from __future__ import annotations

import signal
import time
from typing import Any

from borealis import control
from cluster import pgctl
from core.errors import BorealisError
from core.paths import StatePaths
from core.topology import Topology


def down(paths: StatePaths, timeout: float = 120.0) -> int:
    """Stop the supervisor (which stops everything in order), then sweep leftovers.

    Returns how many processes were stopped by the sweep (0 after a clean shutdown).
    """
    supervisor = pgctl.read_pid(paths.supervisor_pid)
    if supervisor and pgctl.is_alive(supervisor):
        try:
            control.request(paths.control_socket, "stop", timeout=10)
        except BorealisError:
            pgctl.stop_process(supervisor, sig=signal.SIGTERM, timeout=timeout)
        if not pgctl.wait_gone(supervisor, timeout):
            pgctl.stop_process(supervisor, sig=signal.SIGKILL, timeout=5)
    return sweep(paths)


def supervisor_running(paths: StatePaths) -> bool:
    pid = pgctl.read_pid(paths.supervisor_pid)
    return bool(pid and pgctl.is_alive(pid))


def sweep(paths: StatePaths) -> int:
    """Stop any process of this stack still running (after a crash of the supervisor)."""
    stopped = 0
    if paths.run.exists():
        for pid_file in paths.run.glob("*.pid"):
            pid = pgctl.read_pid(pid_file)
            if pid and pgctl.is_alive(pid):
                pgctl.stop_process(pid, sig=signal.SIGTERM, timeout=10)
                stopped += 1
            pid_file.unlink(missing_ok=True)
    data_root = paths.pg / "data"
    if data_root.exists():
        for data_dir in data_root.iterdir():
            pid = pgctl.postmaster_pid(data_dir)
            if pid and pgctl.is_alive(pid):
                pgctl.stop_process(pid, sig=signal.SIGINT, timeout=30)
                stopped += 1
    paths.control_socket.unlink(missing_ok=True)
    return stopped


def offline_status(paths: StatePaths) -> dict[str, Any]:
    if not paths.topology.exists():
        raise BorealisError(f"no Borealis cluster in {paths.root}: run `borealis up`")
    topology = Topology.load(paths.topology)
    instances = []
    for inst in topology.instances:
        pid = pgctl.postmaster_pid(paths.data_dir(inst.id))
        alive = pgctl.is_alive(pid)
        instances.append(
            {
                "id": inst.id,
                "resource_id": inst.resource_id,
                "role": topology.role_of(inst.id).value,
                "az": inst.az,
                "tier": inst.tier,
                "port": inst.port,
                "pid": pid if alive else None,
                "state": "unmanaged" if alive else "stopped",
            }
        )
    return {
        "cluster_id": topology.cluster_id,
        "cluster_resource_id": topology.cluster_resource_id,
        "writer": topology.writer_id,
        "instances": instances,
        "segments": [{"id": s.id, "az": s.az, "state": "stopped"} for s in topology.segments],
        "services": {},
        "endpoints": {},
        "ready": False,
        "state_dir": str(paths.root),
        "data_root": str(paths.pg),
        "checked_at": time.time(),
    }
