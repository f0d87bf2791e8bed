"""CPU of processes and the local ports of their TCP sockets, from /proc."""

from __future__ import annotations

import os
from pathlib import Path

from collector.procfs import CLOCK_TICKS, ProcFs

PROC = ProcFs()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user + system seconds of each live process (all its threads)."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            out[pid] = PROC.stat(pid).own_ticks / CLOCK_TICKS
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def socket_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets process `pid` holds open."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
