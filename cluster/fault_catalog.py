"""The faults `borealis fault` offers, with their arguments (no heavy imports: the CLI's
argument parser is built from this table)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    name: str
    args: tuple[str, ...]
    help: str


FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec("kill-writer", (), "SIGKILL the writer; the cluster fails over by itself"),
    FaultSpec("stop-instance", ("ID",), "stop an instance (a stopped writer is not replaced)"),
    FaultSpec("start-instance", ("ID",), "start an instance stopped by stop-instance"),
    FaultSpec("hang-instance", ("ID",), "SIGSTOP an instance (a hung writer is failed over)"),
    FaultSpec("resume-instance", ("ID",), "SIGCONT an instance hung by hang-instance"),
    FaultSpec("stop-segment", ("ID",), "stop a storage segment"),
    FaultSpec("start-segment", ("ID",), "start a segment stopped by stop-segment"),
    FaultSpec("lose-az", ("AZ",), "cut off an AZ: kill its instances and segments"),
    FaultSpec("restore-az", ("AZ",), "bring a lost AZ back; its members heal and rejoin"),
    FaultSpec("pause-replay", ("ID",), "pause WAL replay on a reader"),
    FaultSpec("resume-replay", ("ID",), "resume WAL replay on a reader"),
    FaultSpec("delay-replica", ("ID", "MS"), "delay replay on a reader by MS ms (0 undoes it)"),
)

FAULTS_BY_NAME = {f.name: f for f in FAULTS}
