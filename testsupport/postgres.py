"""A fresh, real PostgreSQL 15 in a directory of its own, for the integration tier and the
benchmarks (bench/pi.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cluster import pgctl
from cluster.pgconf import available_preload_libraries
from core.waiting import WaitTimeout, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def start_server(
    root: Path, port: int, super_password: str, max_connections: int = 60
) -> tuple[Path, subprocess.Popen[bytes], list[str]]:
    """A fresh PostgreSQL 15 under `root` (reachable by the postgres OS user), with every
    preload extension there is: (data dir, postmaster, preloaded libraries)."""
    user = pgctl.OsUser.lookup("postgres")
    tools = pgctl.PgTools(PG_BIN, user)
    root.mkdir()
    user.chown(root)
    data = root / "data"
    data.mkdir(mode=0o700)
    user.chown(data)
    pwfile = root / "pw"
    pwfile.write_text(super_password + "\n")
    user.chown(pwfile)
    tools.initdb(data, pwfile)
    preload = available_preload_libraries(PG_BIN)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            f"shared_preload_libraries = '{','.join(preload)}'\ncompute_query_id = on\n"
            f"shared_buffers = 32MB\nmax_connections = {max_connections}\n"
            "track_io_timing = on\n"
        )
    popen = tools.start_postmaster(data, {"port": str(port)}, root / "postgres.log")

    def ready() -> bool:
        if popen.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited: {(root / 'postgres.log').read_text()[-2000:]}")
        return pgctl.postmaster_status(data) == "ready"

    try:
        wait_until(ready, timeout=30, interval=0.05, what="PostgreSQL to accept connections")
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}: {(root / 'postgres.log').read_text()[-2000:]}") from exc
    return data, popen, preload
