"""Parsing /proc files, and summing an instance's process tree, from fixture text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.localhost import is_postmaster_of
from collector.procfs import (
    CLOCK_TICKS,
    PAGE_SIZE,
    ProcFs,
    ProcIo,
    parse_diskstats,
    parse_io,
    parse_io_counters,
    parse_meminfo,
    parse_net_dev,
    parse_smaps_rollup,
    parse_stat,
    parse_stat_counters,
)
from collector.sources.base import InstancePoll
from collector.sources.process import (
    ProcessCounters,
    ProcessSnapshot,
    ProcessSource,
    monotonic,
    read_tree,
)
from collector.targets import Target

BOOT = 1_795_777_189


def stat_line(
    pid: int, comm: str, ppid: int, utime: int, stime: int, *, cutime: int = 0, start: int = 1000
) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 "
        f"{utime} {stime} {cutime} 0 20 0 1 0 {start} 5124096 933 18446744073709551615 0 0\n"
    )


IO = """rchar: 536913425
wchar: 615505046
syscr: {syscr}
syscw: 60975
read_bytes: {read}
write_bytes: 654159872
cancelled_write_bytes: 115912704
"""

SMAPS = """5574f90aa000-7fff4d9e7000 ---p 00000000 00:00 0                          [rollup]
Rss:                {rss} kB
Pss:                 {pss} kB
Pss_Dirty:           595 kB
Shared_Clean:       2940 kB
"""


def test_stat_with_spaces_and_parentheses_in_the_command() -> None:
    stat = parse_stat(stat_line(4242, "postgres: app (x) idle", 4200, 150, 50, cutime=7))
    assert (stat.pid, stat.comm, stat.ppid) == (4242, "postgres: app (x) idle", 4200)
    assert (stat.utime, stat.stime, stat.cutime, stat.starttime) == (150, 50, 7, 1000)
    assert stat.rss_pages == 933
    assert parse_stat_counters(stat_line(1, "a) (b", 0, 150, 50, cutime=7)) == (207, 933)
    assert stat.own_ticks == 200
    assert stat.all_ticks == 207


def test_io_memory_meminfo() -> None:
    io = parse_io(IO.format(syscr=98926, read=10260480))
    assert io == ProcIo(10260480, 654159872, 115912704, 98926, 60975)
    counters = (10260480, 654159872, 98926, 60975)
    assert parse_io_counters(IO.format(syscr=98926, read=10260480)) == counters
    reordered = "read_bytes: 10260480\nwrite_bytes: 654159872\nsyscr: 98926\nsyscw: 60975\n"
    assert parse_io_counters(reordered) == counters
    mem = parse_smaps_rollup(SMAPS.format(rss=3916, pss=864))
    assert (mem.rss, mem.pss) == (3916 * 1024, 864 * 1024)
    info = parse_meminfo(
        "MemTotal:       24683656 kB\nMemAvailable:   24246016 kB\nHugePages_Total: 0\n"
    )
    assert info["MemAvailable"] == 24246016 * 1024
    assert info["HugePages_Total"] == 0
    assert parse_meminfo("MemTotal: 2 kB\nMemFree: 1 kB\n", ("MemTotal",)) == {"MemTotal": 2048}


def test_net_dev_and_diskstats() -> None:
    net = parse_net_dev(
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n"
        "    lo: 7661077194  388641    0    0    0     0          0         0 7661077194  388641"
        "    0    0    0     0       0          0\n"
        "  eth0: 691707059   17317    0    0    0     0          0         0  1145275   10687"
        "    0    0    0     0       0          0\n"
    )
    assert net == {"lo": (7661077194, 7661077194), "eth0": (691707059, 1145275)}
    disks = parse_diskstats(
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        " 254       0 vda 81091 12953 8217146 111285 197443 156322 53233488 505638 3 92908 "
        "689084 63628 101 30279480 28227 85278 43933\n"
    )
    assert set(disks) == {"loop0", "vda"}
    assert parse_diskstats(" 254 0 vda " + "1 " * 17, "vda")["vda"].reads == 1
    assert parse_diskstats(" 254 0 vda " + "1 " * 17, "vdb") == {}
    vda = disks["vda"]
    assert (vda.reads, vda.writes, vda.in_flight) == (81091, 197443, 3)
    assert vda.weighted_io_seconds == pytest.approx(689.084)


class FakeProc:
    """A /proc tree on disk: a postmaster with children."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "stat").write_text(f"cpu  1 2 3\nbtime {BOOT}\n")
        (root / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 600 kB\n")

    def process(
        self,
        pid: int,
        ppid: int,
        utime: int,
        stime: int,
        *,
        cutime: int = 0,
        children: tuple[int, ...] = (),
        comm: str = "postgres",
        cmdline: tuple[str, ...] = ("postgres: checkpointer",),
        read: int = 0,
        rss: int = 100,
        pss: int = 10,
        start: int = 1000,
    ) -> None:
        d = self.root / str(pid)
        (d / "task" / str(pid)).mkdir(parents=True)
        (d / "stat").write_text(
            stat_line(pid, comm, ppid, utime, stime, cutime=cutime, start=start)
        )
        (d / "io").write_text(IO.format(syscr=10, read=read))
        (d / "smaps_rollup").write_text(SMAPS.format(rss=rss, pss=pss))
        (d / "task" / str(pid) / "children").write_text(" ".join(map(str, children)) + " ")
        (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in cmdline) + b"\0")


@pytest.fixture
def proc(tmp_path: Path) -> FakeProc:
    fake = FakeProc(tmp_path)
    fake.process(
        100,
        1,
        utime=500,
        stime=100,
        cutime=40,  # children that already exited
        children=(101, 102, 103),  # 103 exits before we read it
        cmdline=("/usr/lib/postgresql/15/bin/postgres", "-D", "/data/one", "-c", "port=5432"),
        read=4096,
        rss=1000,
        pss=300,
        start=2000,
    )
    fake.process(101, 100, utime=10, stime=5, read=8192, rss=2000, pss=400)
    fake.process(102, 100, utime=20, stime=5, rss=3000, pss=500)
    return fake


def test_the_tree_sums_the_postmaster_its_children_and_the_exited_ones(proc: FakeProc) -> None:
    snap = read_tree(ProcFs(proc.root), 100, pss=True)
    assert snap.processes == 3
    assert snap.counters.cpu_seconds == pytest.approx((500 + 100 + 40 + 15 + 25) / CLOCK_TICKS)
    assert snap.counters.io_read_bytes == 4096 + 8192
    assert snap.counters.io_read_syscalls == 30
    assert snap.rss_bytes == 3 * 933 * PAGE_SIZE  # from stat, not smaps_rollup
    assert snap.pss_bytes == (300 + 400 + 500) * 1024
    assert read_tree(ProcFs(proc.root), 100, pss=False).pss_bytes is None


def test_unreadable_io_and_memory_are_unknown_not_zero(proc: FakeProc) -> None:
    class NotRoot(ProcFs):
        def io_counters(self, pid: int) -> tuple[int, int, int, int]:
            raise PermissionError(pid)

        def memory(self, pid: int) -> object:  # type: ignore[override]
            raise PermissionError(pid)

    snap = read_tree(NotRoot(proc.root), 100, pss=True)
    assert snap.counters.cpu_seconds > 0
    assert snap.counters.io_read_bytes is None
    assert snap.pss_bytes is None


def test_a_vanished_postmaster_is_an_error_the_source_turns_into_no_metrics(
    proc: FakeProc,
) -> None:
    with pytest.raises(FileNotFoundError):
        read_tree(ProcFs(proc.root), 999, pss=False)


def test_counters_never_go_down() -> None:
    before = ProcessCounters(10.0, 100.0, 50.0, 7.0, None)
    dipped = ProcessCounters(9.9, 120.0, 40.0, 8.0, 3.0)
    assert monotonic(before, dipped) == ProcessCounters(10.0, 120.0, 50.0, 8.0, 3.0)
    assert monotonic(None, dipped) == dipped


def test_the_postmaster_is_recognised_by_start_time_or_data_directory(proc: FakeProc) -> None:
    procfs = ProcFs(proc.root)
    started = BOOT + 2000 / CLOCK_TICKS
    assert is_postmaster_of(procfs, 100, started + 0.3, None)
    # Started at another time (a remote server whose backend pid happens to exist here).
    assert not is_postmaster_of(procfs, 100, started + 3600, None)
    # After a crash restart the start time moved on, but the data directory still matches.
    assert is_postmaster_of(procfs, 100, started + 3600, "/data/one")
    assert not is_postmaster_of(procfs, 100, started + 3600, "/data/two")
    # Not a PostgreSQL process at all, or no process.
    proc.process(200, 1, 1, 1, comm="bash", cmdline=("/bin/bash",), start=2000)
    assert not is_postmaster_of(procfs, 200, started, None)
    assert not is_postmaster_of(procfs, 999, started, None)


def test_block_device_of_a_file_system() -> None:
    device = ProcFs().block_device(os.stat("/proc").st_dev)
    assert device is None  # procfs has no block device


def test_process_families_carry_the_instance_labels() -> None:
    snap = ProcessSnapshot(
        processes=3,
        cpus=2,
        counters=ProcessCounters(1.5, None, None, None, None),
        rss_bytes=8192.0,
        pss_bytes=None,
    )
    poll = InstancePoll(
        target=Target("c", "i1", "dbname=x", az="a"),
        at=0.0,
        wall_time=0.0,
        ok=True,
        role="writer",
        version_num=150000,
        results={"process": snap},
    )
    families = {f.name: f for f in ProcessSource(local=None).families([poll])}  # type: ignore[arg-type]
    labels = {"cluster": "c", "db_instance": "i1", "role": "writer", "az": "a"}
    cpu = families["borealis_process_cpu_seconds"].samples
    assert [(s.name, s.labels, s.value) for s in cpu] == [
        ("borealis_process_cpu_seconds_total", labels, 1.5)
    ]
    # Unknown figures are left out rather than reported as 0.
    assert families["borealis_process_io_read_bytes"].samples == []
    assert families["borealis_process_proportional_memory_bytes"].samples == []
    assert families["borealis_process_resident_memory_bytes"].samples[0].value == 8192.0
