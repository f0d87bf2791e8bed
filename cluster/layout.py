"""The cluster's files on disk: the data root PostgreSQL owns, and who may reach it.

The state directory is root's and may be private (a checkout in a mode-0700 home); the data
root (``core.paths``) is where the PostgreSQL OS user works, so every directory above it must
be one that user can enter.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from cluster import pgctl
from core.errors import BorealisError
from core.paths import DEFAULT_DATA_PARENT, StatePaths
from core.topology import Topology


def _can_enter(path: Path, user: pgctl.OsUser) -> bool:
    info = path.stat()
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == user.gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def check_reachable(pg_root: Path, user: pgctl.OsUser) -> None:
    """Every existing directory on the way to the data root must let `user` through."""
    for parent in reversed([pg_root, *pg_root.parents]):
        if not parent.exists():
            break
        if not parent.is_dir():
            raise BorealisError(
                f"{parent} is not a directory, so the data root {pg_root} cannot be made; "
                "set pg_root (BOREALIS_PG_ROOT) to another directory"
            )
        if parent == pg_root and parent.stat().st_uid == user.uid:
            break
        if not _can_enter(parent, user):
            mode = oct(parent.stat().st_mode & 0o777)
            raise BorealisError(
                f"the {user.name} OS user cannot enter {parent} (mode {mode}), so PostgreSQL "
                f"cannot reach its data root {pg_root}; set pg_root (BOREALIS_PG_ROOT) to a "
                f"directory it can reach (the default is under {DEFAULT_DATA_PARENT}) "
                f"or run `chmod o+x {parent}`"
            )


def check_ownership(paths: StatePaths) -> None:
    """A data root serves one state directory: never another stack's, never foreign files."""
    root = paths.pg
    if not root.is_dir() or root == paths.root / "pg" or not any(root.iterdir()):
        return
    mark = paths.pg_owner_mark
    mine = str(paths.root.resolve())
    owner = mark.read_text().strip() if mark.is_file() else None
    if owner is None:
        raise BorealisError(
            f"the data root {root} is not empty and was not made by Borealis; set pg_root "
            "(BOREALIS_PG_ROOT) to a new or empty directory"
        )
    if owner != mine:
        raise BorealisError(
            f"the data root {root} belongs to the Borealis stack in {owner}; two stacks "
            "cannot share one: set pg_root (BOREALIS_PG_ROOT) to another directory"
        )


def _make_dirs(path: Path) -> None:
    """Create `path` and any missing parent, each mode 0755 whatever the umask."""
    missing = [p for p in reversed([path, *path.parents]) if not p.exists()]
    for directory in missing:
        directory.mkdir(exist_ok=True)
        os.chmod(directory, 0o755)


class Layout:
    """Creates and removes the directories of a cluster; PostgreSQL's are owned by `user`."""

    def __init__(self, paths: StatePaths, user: pgctl.OsUser) -> None:
        self.paths = paths
        self.user = user

    def pg_dir(self, path: Path, mode: int = 0o700) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self.user.chown(path)
        os.chmod(path, mode)
        return path

    def claim_pg_root(self) -> None:
        """Check, create and record the data root (the record makes later runs find it)."""
        paths = self.paths
        check_reachable(paths.pg, self.user)
        check_ownership(paths)
        _make_dirs(paths.pg.parent)
        self.pg_dir(paths.pg, 0o750)
        paths.pg_owner_mark.write_text(f"{paths.root.resolve()}\n")
        os.chmod(paths.pg_owner_mark, 0o644)
        if paths.pg != paths.root / "pg" and not paths.pg_root_record.is_file():
            paths.pg_root_record.write_text(f"{paths.pg}\n")

    def prepare(self, topology: Topology) -> None:
        paths = self.paths
        paths.root.mkdir(parents=True, exist_ok=True)
        for sub in (paths.logs, paths.run):
            sub.mkdir(parents=True, exist_ok=True)
        self.claim_pg_root()
        for name in ("data", "segments", "log"):
            self.pg_dir(paths.pg / name, 0o750)
        self.pg_dir(paths.pg_socket_dir, 0o750)
        for spec in topology.instances:
            self.pg_dir(paths.pg_log_dir(spec.id), 0o750)
        for seg in topology.segments:
            self.pg_dir(paths.segment_dir(seg.id))

    def discard_incomplete_cluster(self) -> bool:
        """Remove what a creation that never finished left (no topology.json was written):
        stop its processes, delete its data. True when there was something to remove.
        Only a data root this state directory owns is ever removed."""
        paths = self.paths
        pg = paths.pg
        if paths.topology.exists() or not pg.exists() or not any(pg.iterdir()):
            return False
        check_ownership(paths)
        data_root = pg / "data"
        for data_dir in data_root.iterdir() if data_root.exists() else ():
            pgctl.stop_process(pgctl.postmaster_pid(data_dir), sig=signal.SIGINT, timeout=30)
        for pid_file in paths.run.glob("segment-*.pid"):
            pgctl.stop_process(pgctl.read_pid(pid_file), sig=signal.SIGTERM, timeout=5)
            pid_file.unlink(missing_ok=True)
        for item in pg.iterdir():
            if item.name != paths.pg_owner_mark.name:
                if item.is_dir() and not item.is_symlink():
                    pgctl.remove_tree(item)
                else:
                    item.unlink(missing_ok=True)
        paths.secrets.unlink(missing_ok=True)
        return True
