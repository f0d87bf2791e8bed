"""PostgreSQL instances the tests start and break by hand, outside any Borealis cluster: a
primary and a streaming standby, logging like Borealis instances do (jsonlog, connections,
pgaudit ddl+role), optionally with TLS. Plus a local OTLP/HTTP receiver and the real
`borealis collector` process pointed at them through a targets file."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from cluster import pgctl
from cluster.pgconf import available_preload_libraries
from core.waiting import WaitTimeout, wait_until
from testsupport.waiting import wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPER_PASSWORD = "pair-super-pw"
MONITOR_PASSWORD = "pair-monitor-pw"

LOGGING = {
    "logging_collector": "on",
    "log_destination": "'jsonlog'",
    "log_filename": "'postgresql-%Y%m%d.log'",
    "log_file_mode": "0640",
    "log_rotation_size": "'100MB'",
    "log_connections": "on",
    "log_disconnections": "on",
    "pgaudit.log": "'ddl,role'",
    "pgaudit.log_relation": "on",
    "wal_level": "replica",
    "hot_standby": "on",
    "wal_receiver_status_interval": "'1s'",
    "wal_retrieve_retry_interval": "'200ms'",
    "wal_sender_timeout": "'10s'",
    "shared_buffers": "'16MB'",
    "max_connections": "40",
}


@dataclass
class Instance:
    name: str
    root: Path
    port: int
    popen: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / self.name

    @property
    def log_dir(self) -> Path:
        return self.root / f"{self.name}-log"

    def dsn(self, user: str = "postgres", password: str = SUPER_PASSWORD, **extra: str) -> str:
        params = {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": user,
            "password": password,
            "dbname": "postgres",
            "connect_timeout": "3",
            **extra,
        }
        return " ".join(f"{k}={v}" for k, v in params.items())

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else []

    def fail_login(self, user: str, times: int = 1) -> None:
        for _ in range(times):
            try:
                # sslmode=disable: with `prefer`, libpq retries without TLS: two failures.
                dsn = self.dsn(user=user, password="not-the-password", sslmode="disable")
                psycopg.connect(dsn).close()
            except psycopg.OperationalError:
                continue
            raise AssertionError(f"{user} logged in with a wrong password")


@dataclass
class Pair:
    """A primary and its streaming standby (named like instances in a targets file)."""

    tools: pgctl.PgTools
    primary: Instance
    standby: Instance
    tls_ca: Path | None = None
    extra: list[Instance] = field(default_factory=list)

    def start(self, inst: Instance, timeout: float = 30) -> None:
        options = {"port": str(inst.port), "log_directory": str(inst.log_dir)}
        inst.popen = self.tools.start_postmaster(inst.data, options, inst.root / f"{inst.name}.out")
        popen = inst.popen
        out = inst.root / f"{inst.name}.out"

        def ready() -> bool:
            if popen.poll() is not None:
                raise AssertionError(f"{inst.name} exited: {out.read_text()[-2000:]}")
            return pgctl.postmaster_status(inst.data) in ("ready", "standby")

        try:
            wait_until(ready, timeout=timeout, interval=0.05, what=f"{inst.name} to start")
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}: {out.read_text()[-2000:]}") from exc

    def stop(self, inst: Instance) -> None:
        if inst.popen is not None:
            pgctl.stop_process(inst.popen.pid, sig=signal.SIGINT, timeout=30)
            inst.popen.wait(timeout=10)
            inst.popen = None

    def stop_all(self) -> None:
        for inst in (self.standby, self.primary):
            self.stop(inst)


def _self_signed_certificate(directory: Path, user: pgctl.OsUser) -> tuple[Path, Path]:
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-newkey", "rsa:2048",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    for path in (cert, key):
        user.chown(path)
    os.chmod(key, 0o600)
    return cert, key


def start_pair(root: Path, port: int, *, tls: bool = False) -> Pair:
    """initdb + start a primary on `port`, base-backup a standby on `port + 1`."""
    if not (PG_BIN / "postgres").exists():
        raise AssertionError("PostgreSQL 15 is not installed: run `make install`")
    user = pgctl.OsUser.lookup("postgres")
    tools = pgctl.PgTools(PG_BIN, user)
    root.mkdir(mode=0o755)
    user.chown(root)
    primary = Instance("pair-primary", root, port)
    standby = Instance("pair-standby", root, port + 1)
    for inst in (primary, standby):
        inst.log_dir.mkdir(mode=0o750)
        user.chown(inst.log_dir)
    primary.data.mkdir(mode=0o700)
    user.chown(primary.data)
    pwfile = root / "pw"
    pwfile.write_text(SUPER_PASSWORD + "\n")
    user.chown(pwfile)
    tools.initdb(primary.data, pwfile)
    settings = dict(LOGGING)
    settings["listen_addresses"] = "'127.0.0.1'"
    settings["unix_socket_directories"] = f"'{root}'"
    settings["shared_preload_libraries"] = f"'{','.join(available_preload_libraries(PG_BIN))}'"
    ca = None
    if tls:
        cert, key = _self_signed_certificate(root, user)
        settings.update(ssl="on", ssl_cert_file=f"'{cert}'", ssl_key_file=f"'{key}'")
        ca = cert
    with open(primary.data / "postgresql.conf", "a") as conf:
        conf.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
    pair = Pair(tools, primary, standby, tls_ca=ca)
    pair.start(primary)
    primary.sql(
        f"create role monitor login password '{MONITOR_PASSWORD}'; grant pg_monitor to monitor"
    )
    primary.sql("create extension if not exists pgaudit")
    standby.data.mkdir(mode=0o700)
    user.chown(standby.data)
    tools.basebackup(standby.data, primary.dsn(), slot=None)
    auto = standby.data / "postgresql.auto.conf"
    conninfo = primary.dsn(application_name=standby.name)
    auto.write_text(f"primary_conninfo = '{conninfo}'\n")
    (standby.data / "standby.signal").touch()
    for path in (auto, standby.data / "standby.signal"):
        user.chown(path)
    pair.start(standby)
    wait_for(
        lambda: (
            primary.sql("select count(*) from pg_stat_replication where state = 'streaming'")[0][0]
            == 1
        ),
        30,
        what="the standby streaming",
    )
    return pair


def targets_yaml(pair: Pair, cluster: str, *, tls: bool = False) -> str:
    primary_dsn = pair.primary.dsn("monitor", MONITOR_PASSWORD)
    if tls:
        primary_dsn += f" sslmode=verify-full sslrootcert={pair.tls_ca}"
    standby_dsn = pair.standby.dsn("monitor", MONITOR_PASSWORD)
    return (
        f"clusters:\n  - id: {cluster}\n    instances:\n"
        f'      - id: {pair.primary.name}\n        dsn: "{primary_dsn}"\n'
        f"        az: local-1a\n        log_dir: {pair.primary.log_dir}\n"
        f'      - id: {pair.standby.name}\n        dsn: "{standby_dsn}"\n'
        f"        az: local-1b\n        log_dir: {pair.standby.log_dir}\n"
    )
