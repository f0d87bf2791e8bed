"""Following jsonlog files across rotation, truncation and collector restarts."""

import os
from pathlib import Path

from collector.logs.follow import LogFollower
from collector.logs.records import MAX_LINE_BYTES


def lines(follower: LogFollower) -> list[bytes]:
    out: list[bytes] = []
    for batch in follower.read():
        out += batch.lines
        follower.save()
    return out


def write(path: Path, *items: str, mode: str = "a") -> None:
    with open(path, mode) as handle:
        handle.write("".join(f"{item}\n" for item in items))


def touch_later(path: Path, seconds: int) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def test_first_run_starts_at_the_end_then_follows(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    write(log / "postgresql-20261127.json", "old-1", "old-2")
    follower = LogFollower(log, tmp_path / "pos.json")
    assert lines(follower) == []
    write(log / "postgresql-20261127.json", "new-1")
    assert lines(follower) == [b"new-1"]
    assert lines(follower) == []


def test_start_at_beginning_reads_the_newest_file_only(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    write(log / "postgresql-20261126.json", "yesterday")
    write(log / "postgresql-20261127.json", "today")
    touch_later(log / "postgresql-20261127.json", 5)
    follower = LogFollower(log, tmp_path / "pos.json", start_at="beginning")
    assert lines(follower) == [b"today"]


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    old = log / "postgresql-20261127.json"
    write(old, "a")
    follower = LogFollower(log, tmp_path / "pos.json")
    lines(follower)
    write(old, "b", "c")  # written before the rotation, not read yet
    new = log / "postgresql-20261128.json"
    write(new, "d")
    touch_later(new, 5)
    assert lines(follower) == [b"b", b"c", b"d"]
    assert follower.stats.rotations == 1


def test_truncation_is_noticed_even_when_the_file_grew_back(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    path = log / "postgresql-Mon.json"
    follower = LogFollower(log, tmp_path / "pos.json", start_at="beginning")
    write(path, "first")
    assert lines(follower) == [b"first"]
    write(path, "x")  # truncated (log_truncate_on_rotation), shorter than our offset
    write(path, "again", mode="w")
    assert lines(follower) == [b"again"]
    # Rewritten past our offset: the head no longer matches.
    write(path, "z" * 300, mode="w")
    write(path, "more")
    assert lines(follower) == [b"z" * 300, b"more"]
    assert follower.stats.truncations == 2


def test_a_restart_neither_loses_nor_repeats_lines(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    path = log / "postgresql-20261127.json"
    first = LogFollower(log, tmp_path / "pos.json")
    lines(first)
    write(path, "1", "2")
    assert lines(first) == [b"1", b"2"]
    # The collector stops; PostgreSQL keeps logging and rotates.
    write(path, "3")
    rotated = log / "postgresql-20261128.json"
    write(rotated, "4", "5")
    touch_later(rotated, 5)
    second = LogFollower(log, tmp_path / "pos.json")
    assert lines(second) == [b"3", b"4", b"5"]
    assert lines(LogFollower(log, tmp_path / "pos.json")) == []


def test_a_line_being_written_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    path = log / "postgresql-20261127.json"
    path.write_text("")
    follower = LogFollower(log, tmp_path / "pos.json")
    lines(follower)
    with open(path, "a") as handle:
        handle.write('{"half": ')
    assert lines(follower) == []
    with open(path, "a") as handle:
        handle.write('"done"}\n')
    assert lines(follower) == [b'{"half": "done"}']


def test_an_overlong_line_is_dropped_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    path = log / "postgresql-20261127.json"
    path.write_text("")
    follower = LogFollower(log, tmp_path / "pos.json")
    lines(follower)
    write(path, "x" * (MAX_LINE_BYTES * 2 + 10), "after")
    oversized = 0
    got: list[bytes] = []
    for batch in follower.read():
        oversized += batch.oversized
        got += batch.lines
    assert (oversized, got) == (1, [b"after"])


def test_unreadable_positions_start_afresh(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    write(log / "postgresql-20261127.json", "old")
    (tmp_path / "pos.json").write_text("{not json")
    follower = LogFollower(log, tmp_path / "pos.json")
    assert lines(follower) == []  # like a first run: from the end
