"""What an instance on this host sees of the machine: free memory and swap, the file system
and block device of its data directory, and the traffic of its network namespace.

These are the machine's figures, not the instance's own: instances that share a host,
a disk or a network namespace report the same values (Aurora gives every instance its own
machine). On a host with one instance per container or VM they are exactly that instance's.
Only for instances on this host (collector.localhost); others get no series.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import Metric

from collector.localhost import LocalInstances
from collector.sources.base import InstancePoll, counter, gauge


@dataclass(frozen=True)
class DiskSnapshot:
    device: str
    in_flight: int
    weighted_io_seconds: float


@dataclass(frozen=True)
class HostSnapshot:
    memory_available: float | None
    memory_total: float | None
    swap_used: float | None
    fs_free: float | None
    fs_size: float | None
    disk: DiskSnapshot | None
    network_receive: float | None
    network_transmit: float | None


MEMINFO_KEYS = ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree")


class HostSource:
    name = "host"
    os_metrics = True

    def __init__(self, local: LocalInstances) -> None:
        self.local = local

    def poll(self, conn: psycopg.Connection[Any], version_num: int) -> HostSnapshot | None:
        instance = self.local.resolve(conn)
        if instance is None:
            return None
        procfs = self.local.procfs
        meminfo = procfs.meminfo(MEMINFO_KEYS)
        swap_total, swap_free = meminfo.get("SwapTotal"), meminfo.get("SwapFree")
        fs_free = fs_size = None
        if instance.data_directory:
            try:
                vfs = os.statvfs(instance.data_directory)
                fs_free = float(vfs.f_bavail * vfs.f_frsize)
                fs_size = float(vfs.f_blocks * vfs.f_frsize)
            except OSError:
                pass
        disk = None
        if instance.device:
            stats = procfs.diskstats(instance.device).get(instance.device)
            if stats is not None:
                disk = DiskSnapshot(stats.device, stats.in_flight, stats.weighted_io_seconds)
        rx = tx = None
        try:
            interfaces = procfs.net_dev(instance.postmaster_pid)
            rx = float(sum(r for r, _ in interfaces.values()))
            tx = float(sum(t for _, t in interfaces.values()))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        return HostSnapshot(
            memory_available=_float(meminfo.get("MemAvailable")),
            memory_total=_float(meminfo.get("MemTotal")),
            swap_used=None
            if swap_total is None or swap_free is None
            else float(swap_total - swap_free),
            fs_free=fs_free,
            fs_size=fs_size,
            disk=disk,
            network_receive=rx,
            network_transmit=tx,
        )

    def families(self, polls: Sequence[InstancePoll]) -> Iterable[Metric]:
        mem_available = gauge(
            "borealis_host_memory_available_bytes",
            "MemAvailable of the host the instance runs on (FreeableMemory); instances on one "
            "host share it.",
        )
        mem_total = gauge(
            "borealis_host_memory_bytes", "MemTotal of the host the instance runs on."
        )
        swap = gauge(
            "borealis_host_swap_used_bytes",
            "Swap in use on the host the instance runs on (SwapUsage).",
        )
        fs_free = gauge(
            "borealis_filesystem_free_bytes",
            "Space an unprivileged user may still use on the file system holding the "
            "instance's data directory (FreeLocalStorage).",
        )
        fs_size = gauge(
            "borealis_filesystem_size_bytes",
            "Size of the file system holding the instance's data directory.",
        )
        in_flight = gauge(
            "borealis_disk_io_in_flight",
            "I/O requests in flight on the block device holding the data directory, now "
            "(the whole device: instances on it share the figure).",
            extra=["device"],
        )
        weighted = counter(
            "borealis_disk_io_weighted_seconds",
            "Seconds spent on I/O weighted by the requests in flight, on the block device "
            "holding the data directory (whole device); its rate is the average queue depth "
            "(DiskQueueDepth).",
            extra=["device"],
        )
        rx = counter(
            "borealis_network_receive_bytes",
            "Bytes received on every interface (loopback included) of the network namespace "
            "the instance runs in, from /proc/<postmaster>/net/dev: the traffic of every "
            "process in that namespace, not only the instance's.",
        )
        tx = counter(
            "borealis_network_transmit_bytes",
            "Bytes sent on every interface (loopback included) of the network namespace the "
            "instance runs in: the traffic of every process in that namespace.",
        )
        for poll in polls:
            snap: HostSnapshot | None = poll.results.get(self.name)
            if snap is None:
                continue
            labels = poll.labels
            for family, value in (
                (mem_available, snap.memory_available),
                (mem_total, snap.memory_total),
                (swap, snap.swap_used),
                (fs_free, snap.fs_free),
                (fs_size, snap.fs_size),
                (rx, snap.network_receive),
                (tx, snap.network_transmit),
            ):
                if value is not None:
                    family.add_metric(labels, value)
            if snap.disk is not None:
                in_flight.add_metric([*labels, snap.disk.device], snap.disk.in_flight)
                weighted.add_metric([*labels, snap.disk.device], snap.disk.weighted_io_seconds)
        yield from (mem_available, mem_total, swap, fs_free, fs_size, in_flight, weighted, rx, tx)


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)
