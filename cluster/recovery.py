"""What an earlier run left behind, found before `up` starts an existing cluster.

After a host crash (or a SIGKILL of every Borealis process) the data directories still hold
``postmaster.pid`` files of postmasters that are gone, and the run directory pid files of
storage segments that are gone. Starting an instance then runs PostgreSQL's crash recovery
(every acknowledged commit is in its flushed WAL); this module only finds what was left and
words one line per thing for the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster import pgctl
from cluster.controller import ClusterController
from core.topology import Topology


@dataclass
class Leftovers:
    unclean: list[str] = field(default_factory=list)  # instances whose postmaster died
    lines: list[str] = field(default_factory=list)  # what was found and done so far


def inspect(ctl: ClusterController, topology: Topology) -> Leftovers:
    """Find unclean instances; remove stale segment pid files (their processes are gone)."""
    found = Leftovers()
    for spec in topology.instances:
        data = ctl.paths.data_dir(spec.id)
        pid = pgctl.postmaster_pid(data)
        if pid is None:
            continue
        if ctl.instance_alive(spec.id):
            found.lines.append(f"{spec.id} was still running (pid {pid}): kept")
        else:
            found.unclean.append(spec.id)
    for seg in topology.segments:
        pid_file = ctl.paths.pid_file(f"segment-{seg.id}")
        pid = pgctl.read_pid(pid_file)
        if not pid_file.exists():
            continue
        if ctl.segment_alive(seg.id):
            found.lines.append(f"{seg.id} was still running (pid {pid}): kept")
        else:
            pid_file.unlink(missing_ok=True)
            found.lines.append(f"{seg.id} was not stopped cleanly: stale pid file removed")
    return found


def after_start(ctl: ClusterController, found: Leftovers, rejoining: set[str]) -> list[str]:
    """The lines to report once the instances were started."""
    lines = list(found.lines)
    for instance_id in found.unclean:
        if instance_id in rejoining:
            lines.append(f"{instance_id} was not shut down cleanly: it will be rebuilt")
        elif ctl.instance_alive(instance_id):
            lines.append(f"{instance_id} was not shut down cleanly: recovered")
        else:
            lines.append(f"{instance_id} was not shut down cleanly: not running yet")
    return lines
