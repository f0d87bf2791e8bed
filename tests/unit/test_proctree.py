"""The process tree's cost per reading does not grow with idle backends, and what its budget
puts off is counted and caught up, never lost (collector/proctree.py, on fixture /proc trees)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collector.procfs import CLOCK_TICKS, ProcFs
from collector.proctree import ProcessTree
from tests.unit.test_procfs import FakeProc

POSTMASTER = 100


@dataclass(frozen=True)
class CountingProcFs(ProcFs):
    """Reads the fixture tree and records every file it opens."""

    opened: list[str] = field(default_factory=list)

    def _read(self, *parts: str | int) -> str:
        self.opened.append("/".join(map(str, parts)))
        return super()._read(*parts)

    def take(self) -> list[str]:
        taken = list(self.opened)
        self.opened.clear()
        return taken


def tree_with(root: Path, children: int) -> tuple[FakeProc, list[int]]:
    proc = FakeProc(root)
    pids = list(range(1000, 1000 + children))
    proc.process(POSTMASTER, 1, utime=50, stime=10, children=tuple(pids))
    for pid in pids:
        proc.process(pid, POSTMASTER, utime=2, stime=1, pss=5)
    return proc, pids


def set_cpu(proc: FakeProc, pid: int, utime: int) -> None:
    stat = proc.root / str(pid) / "stat"
    fields = stat.read_text().split(" ")
    fields[13] = str(utime)  # after pid and comm: state ppid ... utime is the 14th field
    stat.write_text(" ".join(fields))


@pytest.mark.parametrize("idle", [3, 300])
def test_idle_backends_cost_nothing_once_read(tmp_path: Path, idle: int) -> None:
    """The structural guard for the 1 s cadence under 500 connections: after the first
    reading, quiet (idle) backends are not opened again, however many there are."""
    _, pids = tree_with(tmp_path, idle)
    procfs = CountingProcFs(tmp_path)
    tree = ProcessTree(procfs, POSTMASTER, pss_budget=1000, pss_refresh_s=30.0)
    first = tree.read(quiet=(), now=0.0)
    assert first.processes == idle + 1
    assert len(procfs.take()) == 1 + 3 * (idle + 1)  # children list, stat + io + smaps each
    again = tree.read(quiet=pids, now=3.0)
    # The children list and the postmaster (whose counters hold the reaped children).
    assert sorted(procfs.take()) == sorted(
        [f"{POSTMASTER}/task/{POSTMASTER}/children", f"{POSTMASTER}/stat", f"{POSTMASTER}/io"]
    )
    assert again == first
    assert tree.deferred_total == {"stat": 0, "smaps_rollup": 0}


def test_a_backend_not_reported_quiet_is_read_again(tmp_path: Path) -> None:
    proc, pids = tree_with(tmp_path, 5)
    procfs = CountingProcFs(tmp_path)
    tree = ProcessTree(procfs, POSTMASTER)
    before = tree.read(quiet=(), now=0.0)
    set_cpu(proc, pids[2], 2 + 500)
    procfs.take()
    after = tree.read(quiet=[p for p in pids if p != pids[2]], now=3.0)
    assert f"{pids[2]}/stat" in procfs.take()
    assert after.cpu_seconds - before.cpu_seconds == pytest.approx(500 / CLOCK_TICKS)


def test_the_budget_puts_re_reads_off_counts_them_and_catches_up(tmp_path: Path) -> None:
    proc, pids = tree_with(tmp_path, 10)
    procfs = CountingProcFs(tmp_path)
    tree = ProcessTree(procfs, POSTMASTER, read_budget=4)
    start = tree.read(quiet=(), now=0.0)  # new processes are read whatever the budget
    assert start.processes == 11
    for pid in pids:  # every backend worked: none is quiet
        set_cpu(proc, pid, 2 + 100)
    procfs.take()
    partial = tree.read(quiet=(), now=3.0)
    reread = [p for p in procfs.take() if p.endswith("/stat") and p != f"{POSTMASTER}/stat"]
    assert len(reread) == 4
    assert tree.deferred_total["stat"] == 6
    assert partial.cpu_seconds - start.cpu_seconds == pytest.approx(4 * 100 / CLOCK_TICKS)
    # The backends put off go first next time, even once PostgreSQL reports them quiet.
    tree.read(quiet=pids, now=6.0)
    caught_up = tree.read(quiet=pids, now=9.0)
    assert tree.deferred_total["stat"] == 6 + 2
    assert caught_up.cpu_seconds - start.cpu_seconds == pytest.approx(10 * 100 / CLOCK_TICKS)
    assert not tree.pending


def test_pss_is_refreshed_within_its_budget_and_totalled_once_every_process_is_known(
    tmp_path: Path,
) -> None:
    _, pids = tree_with(tmp_path, 9)  # 10 processes: the postmaster's PSS is 10 kB
    tree = ProcessTree(CountingProcFs(tmp_path), POSTMASTER, pss_budget=4, pss_refresh_s=30.0)
    assert tree.read(quiet=(), now=0.0).pss_bytes is None  # 4 of 10 known: no partial total
    assert tree.deferred_total["smaps_rollup"] == 6
    assert tree.read(quiet=pids, now=1.0).pss_bytes is None
    assert tree.read(quiet=pids, now=2.0).pss_bytes == (10 + 9 * 5) * 1024
    assert tree.deferred_total["smaps_rollup"] == 6 + 2


def test_exited_backends_leave_the_sum_and_the_cache(tmp_path: Path) -> None:
    proc, pids = tree_with(tmp_path, 4)
    tree = ProcessTree(ProcFs(tmp_path), POSTMASTER)
    tree.read(quiet=(), now=0.0)
    (proc.root / str(POSTMASTER) / "task" / str(POSTMASTER) / "children").write_text(
        f"{pids[0]} {pids[1]} "
    )
    after = tree.read(quiet=pids, now=3.0)
    assert after.processes == 3
    assert set(tree.readings) == {POSTMASTER, pids[0], pids[1]}


def test_a_vanished_postmaster_raises(tmp_path: Path) -> None:
    tree_with(tmp_path, 1)
    with pytest.raises(FileNotFoundError):
        ProcessTree(ProcFs(tmp_path), 999).read(quiet=(), now=0.0)


def test_new_backends_after_the_first_reading_share_the_budget_and_go_first(
    tmp_path: Path,
) -> None:
    """A connection storm adds work to a reading, but no more than the budget: the new
    processes are read first (they are missing from the sums), the rest put off and counted."""
    proc, pids = tree_with(tmp_path, 2)
    procfs = CountingProcFs(tmp_path)
    tree = ProcessTree(procfs, POSTMASTER, read_budget=4, pss_budget=1000)
    tree.read(quiet=(), now=0.0)
    new = list(range(2000, 2010))
    for pid in new:
        proc.process(pid, POSTMASTER, utime=7, stime=0)
    (proc.root / str(POSTMASTER) / "task" / str(POSTMASTER) / "children").write_text(
        " ".join(map(str, [*pids, *new])) + " "
    )
    procfs.take()
    storm = tree.read(quiet=pids, now=3.0)
    stats = [p for p in procfs.take() if p.endswith("/stat") and p != f"{POSTMASTER}/stat"]
    assert len(stats) == 4 and all(int(p.split("/")[0]) in new for p in stats)
    assert storm.processes == 1 + 2 + 10  # alive, read or not
    assert tree.deferred_total["stat"] == 6
    tree.read(quiet=[*pids, *new], now=6.0)
    done = tree.read(quiet=[*pids, *new], now=9.0)
    assert set(tree.readings) == {POSTMASTER, *pids, *new}
    assert done.ticks == 60 + 2 * 3 + 10 * 7
