"""Reading /proc: pure parsers for its files, and a reader rooted at a directory (tests use
fixture trees). Every instance on this host is a postmaster with its children; this module
knows nothing of PostgreSQL beyond that."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
READ_SIZE = 65536


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat we use; times in clock ticks."""

    pid: int
    comm: str
    state: str
    ppid: int
    utime: int
    stime: int
    cutime: int  # children reaped by this process, summed over their lifetimes
    cstime: int
    starttime: int  # ticks after boot
    rss_pages: int = 0

    @property
    def own_ticks(self) -> int:
        return self.utime + self.stime

    @property
    def all_ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


@dataclass(frozen=True)
class ProcIo:
    """/proc/<pid>/io: bytes that reached the storage layer, and read/write syscalls."""

    read_bytes: int
    write_bytes: int
    cancelled_write_bytes: int
    read_syscalls: int
    write_syscalls: int


@dataclass(frozen=True)
class ProcMemory:
    """/proc/<pid>/smaps_rollup, in bytes: RSS counts shared pages in every process that maps
    them (shared_buffers once per backend); PSS divides each page among its sharers."""

    rss: int
    pss: int


@dataclass(frozen=True)
class DiskStats:
    """One line of /proc/diskstats (times converted to seconds)."""

    device: str
    reads: int
    writes: int
    in_flight: int
    io_seconds: float
    weighted_io_seconds: float  # time x requests in flight: its rate is the average queue


def parse_stat(text: str) -> ProcStat:
    # comm may hold spaces and parentheses: it ends at the last ')'.
    open_paren = text.index("(")
    close_paren = text.rindex(")")
    rest = text[close_paren + 2 :].split()
    return ProcStat(
        pid=int(text[:open_paren]),
        comm=text[open_paren + 1 : close_paren],
        state=rest[0],
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
        starttime=int(rest[19]),
        rss_pages=int(rest[21]),
    )


def parse_stat_counters(text: str) -> tuple[int, int]:
    """(utime + stime + cutime + cstime in ticks, RSS in pages) from /proc/<pid>/stat: what
    summing a process tree needs every second, at a sixth of parse_stat's cost."""
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14]), int(fields[21])


def parse_io_counters(text: str) -> tuple[int, int, int, int]:
    """(read_bytes, write_bytes, syscr, syscw) from /proc/<pid>/io."""
    tokens = text.split()
    if len(tokens) >= 12 and tokens[4] == "syscr:" and tokens[8] == "read_bytes:":
        return int(tokens[9]), int(tokens[11]), int(tokens[5]), int(tokens[7])
    io = parse_io(text)  # not the kernel's usual layout
    return io.read_bytes, io.write_bytes, io.read_syscalls, io.write_syscalls


def _key_values(text: str) -> dict[str, int]:
    """`Key: 123 kB` lines (io, meminfo, smaps_rollup); values in the file's unit."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        fields = value.split()
        if fields and fields[0].isdigit():
            out[key.strip()] = int(fields[0])
    return out


IO_KEYS = ("rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes")


def parse_io(text: str) -> ProcIo:
    lines = text.split("\n", 7)
    if len(lines) >= 7 and tuple(line.split(":", 1)[0] for line in lines[:6]) == IO_KEYS:
        # The kernel's fixed order: the common, fast path.
        values = {
            key: int(line.rsplit(" ", 1)[1]) for key, line in zip(IO_KEYS, lines, strict=False)
        }
        values["cancelled_write_bytes"] = int(lines[6].rsplit(" ", 1)[1])
    else:
        values = _key_values(text)
    return ProcIo(
        read_bytes=values["read_bytes"],
        write_bytes=values["write_bytes"],
        cancelled_write_bytes=values.get("cancelled_write_bytes", 0),
        read_syscalls=values["syscr"],
        write_syscalls=values["syscw"],
    )


def parse_smaps_rollup(text: str) -> ProcMemory:
    values = _key_values(text)
    return ProcMemory(rss=values["Rss"] * 1024, pss=values["Pss"] * 1024)


_MEMINFO_LINE = re.compile(r"^(\w+(?:\(\w+\))?):\s+(\d+)", re.MULTILINE)


def parse_meminfo(text: str, keys: tuple[str, ...] = ()) -> dict[str, int]:
    """/proc/meminfo fields in bytes: those in `keys`, or all."""
    if keys:
        pattern = re.compile(rf"^({'|'.join(map(re.escape, keys))}):\s+(\d+)", re.MULTILINE)
    else:
        pattern = _MEMINFO_LINE
    return {key: int(kib) * 1024 for key, kib in pattern.findall(text)}


def parse_net_dev(text: str) -> dict[str, tuple[int, int]]:
    """Interface -> (received bytes, transmitted bytes)."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, counters = line.partition(":")
        if not sep:
            continue
        fields = counters.split()
        out[name.strip()] = (int(fields[0]), int(fields[8]))
    return out


def parse_diskstats(text: str, device: str | None = None) -> dict[str, DiskStats]:
    """Every device, or only `device` (found without splitting every line)."""
    if device is not None:
        at = text.find(f" {device} ")
        if at < 0:
            return {}
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        text = text[start : end if end >= 0 else len(text)]
    out: dict[str, DiskStats] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 14:
            continue
        out[fields[2]] = DiskStats(
            device=fields[2],
            reads=int(fields[3]),
            writes=int(fields[7]),
            in_flight=int(fields[11]),
            io_seconds=int(fields[12]) / 1000,
            weighted_io_seconds=int(fields[13]) / 1000,
        )
    return out


def parse_children(text: str) -> list[int]:
    return [int(pid) for pid in text.split()]


def parse_boot_time(proc_stat_text: str) -> float:
    for line in proc_stat_text.splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError("no btime line in /proc/stat")


@dataclass(frozen=True)
class ProcFs:
    """Reads /proc (or a fixture tree with the same layout). Missing processes raise
    FileNotFoundError or ProcessLookupError; unreadable ones PermissionError: callers decide."""

    root: Path = Path("/proc")
    sys_root: Path = Path("/sys")

    def _read(self, *parts: str | int) -> str:
        # os.open/os.read: pathlib and text files cost seven times as much as the read itself,
        # and the collector reads a few files per process every second.
        fd = os.open(f"{self.root}/{'/'.join(map(str, parts))}", os.O_RDONLY)
        try:
            data = os.read(fd, READ_SIZE)
            if len(data) == READ_SIZE:  # rare: more than one read's worth
                chunks = [data]
                while chunk := os.read(fd, READ_SIZE):
                    chunks.append(chunk)
                data = b"".join(chunks)
        finally:
            os.close(fd)
        return data.decode(errors="replace")

    def stat(self, pid: int) -> ProcStat:
        return parse_stat(self._read(pid, "stat"))

    def io(self, pid: int) -> ProcIo:
        return parse_io(self._read(pid, "io"))

    def stat_counters(self, pid: int) -> tuple[int, int]:
        return parse_stat_counters(self._read(pid, "stat"))

    def io_counters(self, pid: int) -> tuple[int, int, int, int]:
        return parse_io_counters(self._read(pid, "io"))

    def memory(self, pid: int) -> ProcMemory:
        return parse_smaps_rollup(self._read(pid, "smaps_rollup"))

    def children(self, pid: int) -> list[int]:
        return parse_children(self._read(pid, "task", pid, "children"))

    def cmdline(self, pid: int) -> list[str]:
        return [part for part in self._read(pid, "cmdline").split("\0") if part]

    def boot_time(self) -> float:
        return parse_boot_time(self._read("stat"))

    def meminfo(self, keys: tuple[str, ...] = ()) -> dict[str, int]:
        return parse_meminfo(self._read("meminfo"), keys)

    def net_dev(self, pid: int) -> dict[str, tuple[int, int]]:
        """Interfaces of the network namespace `pid` lives in."""
        return parse_net_dev(self._read(pid, "net", "dev"))

    def diskstats(self, device: str | None = None) -> dict[str, DiskStats]:
        return parse_diskstats(self._read("diskstats"), device)

    def block_device(self, st_dev: int) -> str | None:
        """The kernel name of the block device behind a file system (None for tmpfs,
        overlay and other devices without one)."""
        link = self.sys_root / "dev" / "block" / f"{os.major(st_dev)}:{os.minor(st_dev)}"
        try:
            return os.path.basename(os.readlink(link))
        except OSError:
            return None

    def start_epoch(self, stat: ProcStat) -> float:
        return self.boot_time() + stat.starttime / CLOCK_TICKS
