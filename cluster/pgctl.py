"""Process control for PostgreSQL binaries: a thin layer with no decisions in it.

Python runs as root; PostgreSQL refuses to, so every binary is started as the unprivileged
OS user (``postgres`` by default) through ``subprocess``'s ``user=``/``group=``. Postmasters
and ``pg_receivewal`` are direct children of the caller, so a crash is seen at once by
``Popen.poll()`` rather than after PID 1 gets round to reaping a zombie.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import BorealisError
from core.waiting import WaitTimeout, wait_until


class PgCommandError(BorealisError):
    """A PostgreSQL command-line tool failed; the message carries its last output lines."""


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    home: str

    @classmethod
    def lookup(cls, name: str) -> OsUser:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise BorealisError(
                f"OS user {name!r} does not exist; install postgresql-15 (it creates it) or "
                "set os_user to an unprivileged user"
            ) from None
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)

    def env(self) -> dict[str, str]:
        return {
            "HOME": self.home,
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    def chown(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)

    def chown_tree(self, path: Path) -> None:
        self.chown(path)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), self.uid, self.gid)


@dataclass(frozen=True)
class PgTools:
    bin_dir: Path
    user: OsUser

    def tool(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise BorealisError(
                f"{path} not found; install postgresql-15 or set pg_bin to its bin directory"
            )
        return str(path)

    def run(self, argv: Sequence[str], *, cwd: Path, timeout: float = 120.0) -> str:
        """Run a tool as the PostgreSQL OS user and return its output; raise on failure."""
        try:
            done = subprocess.run(
                [self.tool(argv[0]), *argv[1:]],
                cwd=cwd,
                env=self.user.env(),
                user=self.user.uid,
                group=self.user.gid,
                extra_groups=[],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PgCommandError(f"{argv[0]} did not finish within {timeout:.0f} s") from None
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise PgCommandError(f"{argv[0]} failed (exit {done.returncode}): {tail}")
        return done.stdout + done.stderr

    def spawn(self, argv: Sequence[str], *, cwd: Path, log_file: Path) -> subprocess.Popen[bytes]:
        """Start a long-running tool as the PostgreSQL OS user, output appended to log_file."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as log:
            return subprocess.Popen(
                [self.tool(argv[0]), *argv[1:]],
                cwd=cwd,
                env=self.user.env(),
                user=self.user.uid,
                group=self.user.gid,
                extra_groups=[],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    # --- instances -------------------------------------------------------------------

    def initdb(self, data_dir: Path, pwfile: Path) -> None:
        self.run(
            [
                "initdb",
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            cwd=data_dir.parent,
        )

    def start_postmaster(
        self, data_dir: Path, options: dict[str, str], log_file: Path
    ) -> subprocess.Popen[bytes]:
        argv = ["postgres", "-D", str(data_dir)]
        for name, value in options.items():
            argv += ["-c", f"{name}={value}"]
        return self.spawn(argv, cwd=data_dir, log_file=log_file)

    def basebackup(self, data_dir: Path, source_dsn: str, slot: str | None) -> None:
        argv = [
            "pg_basebackup",
            "-D",
            str(data_dir),
            "-d",
            source_dsn,
            "-X",
            "stream",
            "-c",
            "fast",
        ]
        if slot:
            argv += ["-S", slot]
        argv.append("--no-sync")
        self.run(argv, cwd=data_dir.parent, timeout=600)

    def rewind(self, data_dir: Path, source_dsn: str) -> str:
        return self.run(
            ["pg_rewind", "-D", str(data_dir), f"--source-server={source_dsn}", "--no-sync"],
            cwd=data_dir.parent,
            timeout=600,
        )

    def start_receivewal(
        self, segment_dir: Path, slot: str, dsn: str, log_file: Path
    ) -> subprocess.Popen[bytes]:
        return self.spawn(
            [
                "pg_receivewal",
                "-D",
                str(segment_dir),
                "-S",
                slot,
                "--synchronous",
                "--no-loop",
                "-d",
                dsn,
            ],
            cwd=segment_dir,
            log_file=log_file,
        )

    def last_valid_record(self, segment_dir: Path) -> tuple[int, int] | None:
        """(start LSN of the last complete WAL record, timeline) in a storage segment.

        pg_receivewal keeps the segment in progress as ``<name>.partial``, zero-padded to its
        full size. pg_waldump reads it under its real name (linked into a scratch directory)
        and stops at the first invalid record; its error names the start of the last good
        one. Records after it are incomplete and so can hold no acknowledged commit.
        """
        newest = newest_wal_file(segment_dir)
        if newest is None:
            return None
        name = newest.name.removesuffix(".partial")
        timeline = int(name[:8], 16)
        with tempfile.TemporaryDirectory(prefix="borealis-waldump-") as scratch:
            os.chmod(scratch, 0o755)
            os.symlink(newest, Path(scratch) / name)
            done = subprocess.run(
                [self.tool("pg_waldump"), "-q", "-p", scratch, name],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        output = done.stderr + done.stdout
        match = re.search(r"error in WAL record at ([0-9A-F]+)/([0-9A-F]+)", output)
        if match:
            return (int(match.group(1), 16) << 32) | int(match.group(2), 16), timeline
        if "could not find a valid record" in output:
            return None
        if done.returncode == 0:
            # The whole file is valid: the last record ends at or past its end.
            return wal_file_start_lsn(name) + (16 << 20) - 1, timeline
        raise PgCommandError(f"pg_waldump on {newest}: {output.strip()[:300]}")


WAL_NAME = re.compile(r"^[0-9A-F]{24}(\.partial)?$")


def newest_wal_file(directory: Path) -> Path | None:
    """The WAL file furthest along (by segment number, then timeline) in a directory."""
    candidates = [p for p in directory.iterdir() if WAL_NAME.match(p.name)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.name[8:24], p.name[:8], p.name.endswith(".partial")))


def wal_file_start_lsn(name: str, segment_size: int = 16 << 20) -> int:
    log_id = int(name[8:16], 16)
    seg_id = int(name[16:24], 16)
    return (log_id << 32) + seg_id * segment_size


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


# --- processes ------------------------------------------------------------------------


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of a process (R, S, T, Z, ...), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may contain spaces.
    return data[data.rindex(b")") + 2 : data.rindex(b")") + 3].decode()


def is_alive(pid: int | None) -> bool:
    """True for a running or stopped process; zombies and missing pids are dead."""
    if not pid:
        return False
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or None when the file is missing or holds no number."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory`: every PostgreSQL process of a data
    directory, orphans of a killed postmaster included (needs root to read others' cwd)."""
    target = str(directory)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == target:
                found.append(int(entry))
        except OSError:
            continue
    return found


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if first.strip().isdigit() else None


def postmaster_status(data_dir: Path) -> str | None:
    """Line 8 of postmaster.pid: starting, stopping, ready or standby."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return lines[7].strip() if len(lines) > 7 else None


def signal_tree(pid: int, sig: signal.Signals) -> None:
    """Send a signal to a process and all its children (a postmaster and its backends)."""
    for target in [pid, *children(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)


def wait_gone(pid: int, timeout: float) -> bool:
    """Whether the process exited within `timeout` seconds."""
    try:
        wait_until(
            lambda: not is_alive(pid), timeout=timeout, interval=0.02, what=f"process {pid} to exit"
        )
    except WaitTimeout:
        return False
    return True


def stop_process(
    pid: int | None, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Ask a process to stop, then SIGKILL it (and its children) after the timeout."""
    if pid is None or not is_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGCONT)  # a stopped (hung) process cannot act on a signal
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_gone(pid, timeout):
        signal_tree(pid, signal.SIGKILL)
        wait_gone(pid, 5.0)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
