"""Follow the jsonlog files of one log directory across rotation and truncation.

PostgreSQL writes one file at a time (`log_filename`, e.g. `postgresql-%Y%m%d.json`): a new
file appears at rotation, or the same name is truncated when `log_truncate_on_rotation` reuses
it. The follower keeps, per file name, the inode, the offset of the next unread line and a
checksum of the file's first bytes; the positions are saved (atomically) after every batch the
caller has consumed, so a restarted collector carries on where it stopped: nothing lost,
nothing read twice (a crash between handling a batch and saving it repeats that one batch).

Unknown files are read from the start when they appeared after the last save, and skipped
otherwise; on the very first run the directory's files are skipped to their end (`start_at:
end`) or the newest is read from its start (`start_at: beginning`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.logs.records import MAX_LINE_BYTES

log = logging.getLogger(__name__)

HEAD_BYTES = 256  # bytes of a file's start whose checksum tells a rewritten file apart
READ_BYTES = 1 << 20  # per read: bounded memory however far behind the follower is
KEEP_FILES = 8  # positions kept for fully read files, newest first


@dataclass
class FilePosition:
    inode: int
    offset: int
    head_crc: int = 0
    head_len: int = 0
    skipping: bool = False  # inside an over-long line: drop bytes up to the next newline


@dataclass(frozen=True)
class Batch:
    """Complete lines read from one file; `oversized` lines were dropped as malformed."""

    path: Path
    lines: list[bytes]
    oversized: int
    truncated: bool  # the file was truncated or rewritten before this batch
    inode: int = 0
    offsets: tuple[int, ...] = ()  # where each of `lines` starts in the file

    def origins(self) -> list[str]:
        """Each line's place — file name, inode, byte offset and a checksum of the line (a
        file truncated and written again reuses offsets) — so what a line caused can be told
        apart from a replay of it after a restart."""
        return [
            f"{self.path.name}:{self.inode}:{offset}:{zlib.crc32(line):08x}"
            for line, offset in zip(self.lines, self.offsets, strict=True)
        ]


@dataclass
class FollowerStats:
    bytes_read: int = 0
    rotations: int = 0  # new files started
    truncations: int = 0


def _head_crc(path: Path, length: int) -> int:
    with open(path, "rb") as handle:
        return zlib.crc32(handle.read(length))


class LogFollower:
    def __init__(
        self,
        directory: Path,
        positions_file: Path,
        *,
        pattern: str = "*.json",
        start_at: str = "end",
    ) -> None:
        self.directory = directory
        self.positions_file = positions_file
        self.pattern = pattern
        self.start_at = start_at
        self.stats = FollowerStats()
        self.files: dict[str, FilePosition] = {}
        self.high_water_ns = 0  # newest mtime seen at the last save
        self._loaded = self._load()
        self._dirty = False

    # --- positions ------------------------------------------------------------------------

    def _load(self) -> bool:
        try:
            data = json.loads(self.positions_file.read_text())
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            log.warning(
                "log positions in %s unreadable (%s): starting afresh", self.positions_file, exc
            )
            return False
        try:
            self.high_water_ns = int(data["high_water_ns"])
            self.files = {
                str(name): FilePosition(**{k: v for k, v in entry.items()})
                for name, entry in data["files"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning(
                "log positions in %s unusable (%s): starting afresh", self.positions_file, exc
            )
            self.files, self.high_water_ns = {}, 0
            return False
        return True

    def save(self) -> None:
        if not self._dirty:
            return
        data: dict[str, Any] = {
            "version": 1,
            "directory": str(self.directory),
            "high_water_ns": self.high_water_ns,
            "files": {name: vars(pos) for name, pos in self.files.items()},
        }
        self.positions_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.positions_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, self.positions_file)
        self._dirty = False

    # --- reading --------------------------------------------------------------------------

    def _listing(self) -> list[tuple[Path, os.stat_result]]:
        """Regular files matching the pattern, oldest first (by mtime, then name)."""
        found = []
        for path in self.directory.glob(self.pattern):
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                if path.is_file():
                    found.append((path, st))
        return sorted(found, key=lambda item: (item[1].st_mtime_ns, item[0].name))

    def _first_run(self, listing: list[tuple[Path, os.stat_result]]) -> None:
        for index, (path, st) in enumerate(listing):
            newest = index == len(listing) - 1
            offset = 0 if newest and self.start_at == "beginning" else st.st_size
            self.files[path.name] = FilePosition(inode=st.st_ino, offset=offset)
        self._loaded = True
        self._dirty = True

    def read(self) -> Iterator[Batch]:
        """Batches of new complete lines, oldest file first. Positions advance as each batch
        is handed over; call `save()` once the batch is handled. Raises OSError when the
        directory cannot be listed."""
        if not self.directory.is_dir():
            raise FileNotFoundError(f"log directory {self.directory} does not exist")
        listing = self._listing()
        if not self._loaded:
            self._first_run(listing)
        for path, st in listing:
            pos = self.files.get(path.name)
            truncated = False
            if pos is None or pos.inode != st.st_ino:
                if pos is None and st.st_mtime_ns <= self.high_water_ns:
                    continue  # older than anything read before: history, not news
                pos = FilePosition(inode=st.st_ino, offset=0)
                self.files[path.name] = pos
                self.stats.rotations += 1
                self._dirty = True
            elif st.st_size < pos.offset or self._rewritten(path, pos):
                pos.offset, pos.head_len, pos.skipping = 0, 0, False
                self.stats.truncations += 1
                truncated = True
                self._dirty = True
            yield from self._read_file(path, pos, truncated)
        if listing:
            self.high_water_ns = max(self.high_water_ns, listing[-1][1].st_mtime_ns)
        self._prune([path.name for path, _ in listing])

    def _rewritten(self, path: Path, pos: FilePosition) -> bool:
        """Same name, same inode, not shorter: was it truncated and written past our offset?"""
        if pos.head_len == 0:
            return False
        try:
            return _head_crc(path, pos.head_len) != pos.head_crc
        except FileNotFoundError:
            return False

    def _read_file(self, path: Path, pos: FilePosition, truncated: bool) -> Iterator[Batch]:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed in finally, generator-safe
        except FileNotFoundError:
            return
        try:
            while True:
                handle.seek(pos.offset)
                chunk = handle.read(READ_BYTES)
                if not chunk:
                    return
                end = chunk.rfind(b"\n")
                oversized = 0
                if end < 0:
                    if len(chunk) < min(READ_BYTES, MAX_LINE_BYTES) and not pos.skipping:
                        return  # a line still being written: wait for its newline
                    # No newline in a full read: the line is too long; drop it.
                    if not pos.skipping:
                        oversized = 1
                    pos.skipping = True
                    pos.offset += len(chunk)
                    self.stats.bytes_read += len(chunk)
                    self._dirty = True
                    if oversized:
                        yield Batch(path, [], oversized, truncated, pos.inode)
                    continue
                body = chunk[: end + 1]
                lines = body.split(b"\n")[:-1]
                starts, at = [], pos.offset
                for line in lines:
                    starts.append(at)
                    at += len(line) + 1
                placed = list(zip(lines, starts, strict=True))
                if pos.skipping:
                    placed = placed[1:]  # the tail of the over-long line
                    pos.skipping = False
                kept = [(line, start) for line, start in placed if len(line) <= MAX_LINE_BYTES]
                oversized = len(placed) - len(kept)
                pos.offset += len(body)
                self.stats.bytes_read += len(body)
                self._dirty = True
                if pos.head_len < HEAD_BYTES:
                    pos.head_len = min(HEAD_BYTES, pos.offset)
                    pos.head_crc = _head_crc(path, pos.head_len)
                shown = [(line, start) for line, start in kept if line.strip()]
                yield Batch(
                    path,
                    [line for line, _ in shown],
                    oversized,
                    truncated,
                    pos.inode,
                    tuple(start for _, start in shown),
                )
                truncated = False
        finally:
            handle.close()

    def _prune(self, present_oldest_first: list[str]) -> None:
        """Forget files that are gone, and all but the newest KEEP_FILES (by mtime)."""
        keep = set(present_oldest_first[-KEEP_FILES:])
        for name in [name for name in self.files if name not in keep]:
            del self.files[name]
            self._dirty = True
