"""PostgreSQL configuration for cluster instances.

Settings shared by all instances go into ``postgresql.conf`` (pg_basebackup and pg_rewind copy
it, which is harmless because it is the same everywhere). Node-specific settings never live in
the shared file: the port, the instance name and the log directory go on the postmaster's
command line, and the replication source goes into ``postgresql.auto.conf``, which Borealis
rewrites after every base backup and rewind.
"""

from __future__ import annotations

from pathlib import Path

from psycopg.conninfo import make_conninfo

from cluster.tls import server_files
from core.credentials import REPLICATION_USER
from core.paths import StatePaths
from core.settings import Settings
from core.topology import InstanceSpec, Topology

PRELOAD_CANDIDATES = ("pg_stat_statements", "pg_wait_sampling", "pgaudit")


def available_preload_libraries(pg_bin: Path) -> list[str]:
    lib_dir = pg_bin.parent / "lib"
    return [name for name in PRELOAD_CANDIDATES if (lib_dir / f"{name}.so").exists()]


def shared_conf(
    settings: Settings, topology: Topology, paths: StatePaths, *, quorum: bool = True
) -> str:
    tuning = settings.instance
    preload = available_preload_libraries(settings.pg_bin)
    lines = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": conf_quote(str(paths.pg_socket_dir)),
        "max_connections": str(tuning.max_connections),
        "shared_buffers": f"'{tuning.shared_buffers}'",
        "work_mem": f"'{tuning.work_mem}'",
        "max_worker_processes": "8",
        "max_parallel_workers_per_gather": "0",
        "wal_level": "replica",
        "wal_log_hints": "on",
        "max_wal_senders": "32",
        "max_replication_slots": "32",
        "wal_keep_size": f"'{tuning.wal_keep_size}'",
        # Few recycled WAL files: pg_rewind copies every one past the fork, and 16 instances
        # share one disk.
        "min_wal_size": "'32MB'",
        "max_slot_wal_keep_size": f"'{tuning.max_slot_wal_keep_size}'",
        "wal_sender_timeout": "'10s'",
        "wal_receiver_timeout": "'10s'",
        "wal_receiver_status_interval": "'1s'",
        "wal_retrieve_retry_interval": "'200ms'",
        "hot_standby": "on",
        "hot_standby_feedback": "on",
        # Aurora semantics: a commit is acknowledged once 4 of the 6 storage segments hold it.
        "synchronous_standby_names": (
            f"'{topology.synchronous_standby_names()}'" if quorum else "''"
        ),
        "synchronous_commit": "on",
        "track_io_timing": "on",
        "track_wal_io_timing": "on",
        "track_commit_timestamp": "on",
        "compute_query_id": "on",
        "track_activity_query_size": "4096",
        "logging_collector": "on",
        "log_destination": "'jsonlog'",
        "log_filename": "'postgresql-%Y%m%d.log'",
        "log_file_mode": "0640",
        "log_rotation_size": "'100MB'",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_checkpoints": "on",
        "log_lock_waits": "on",
        "log_min_duration_statement": "-1",
        "shared_preload_libraries": f"'{','.join(preload)}'",
    }
    if "pgaudit" in preload:
        lines["pgaudit.log"] = "'ddl,role'"
        lines["pgaudit.log_relation"] = "on"
    if "pg_wait_sampling" in preload:
        # 10 ms is the extension's default; 20 ms halves its cost with 16 instances per host.
        lines["pg_wait_sampling.profile_period"] = "20"
        lines["pg_wait_sampling.history_period"] = "20"
    if "pg_stat_statements" in preload:
        lines["pg_stat_statements.track_utility"] = "on"
    for name, value in tuning.extra.items():
        lines[name] = value
    body = "\n".join(f"{name} = {value}" for name, value in lines.items())
    return (
        "# Written by Borealis, the same in every instance (node settings are elsewhere).\n"
        f"{body}\n"
    )


HBA = """# Written by Borealis at every start (first match wins; nothing else is allowed).
local   all             all                                     peer
{host:<9} all           all             127.0.0.1/32            scram-sha-256
{host:<9} replication   {replicator}    127.0.0.1/32            scram-sha-256
"""

# With TLS required, a TCP client without it is told so rather than asked for a password.
HBA_REJECT_PLAIN = """hostnossl all           all             127.0.0.1/32            reject
hostnossl replication   all             127.0.0.1/32            reject
"""


def hba_conf(*, require_tls: bool = False) -> str:
    """The whole pg_hba.conf (initdb's own lines would match first and allow more)."""
    body = HBA.format(host="hostssl" if require_tls else "host", replicator=REPLICATION_USER)
    return body + HBA_REJECT_PLAIN if require_tls else body


def node_options(spec: InstanceSpec, paths: StatePaths) -> dict[str, str]:
    """Command-line settings: they win over the (copied) files and never travel with them."""
    options = {
        "port": str(spec.port),
        "cluster_name": spec.id,
        "log_directory": str(paths.pg_log_dir(spec.id)),
    }
    files = server_files(paths, spec.id)
    if files.cert.is_file() and files.key.is_file() and paths.tls_ca_cert.is_file():
        options |= {
            "ssl": "on",
            "ssl_cert_file": str(files.cert),
            "ssl_key_file": str(files.key),
            "ssl_ca_file": str(paths.tls_ca_cert),
            "ssl_min_protocol_version": "TLSv1.2",
        }
    return options


def replication_dsn(writer: InstanceSpec, paths: StatePaths, application_name: str) -> str:
    return make_conninfo(
        host="127.0.0.1",
        port=writer.port,
        user=REPLICATION_USER,
        passfile=str(paths.pgpass),
        application_name=application_name,
        connect_timeout=2,
        **paths.tls_client_options(),
    )


def standby_auto_conf(spec: InstanceSpec, writer: InstanceSpec, paths: StatePaths) -> str:
    dsn = replication_dsn(writer, paths, spec.id)
    return (
        "# Written by Borealis: where this reader streams from.\n"
        f"primary_conninfo = {conf_quote(dsn)}\n"
        f"primary_slot_name = '{slot_name(spec.id)}'\n"
    )


def conf_quote(value: str) -> str:
    """A string literal for postgresql.conf."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def slot_name(member_id: str) -> str:
    return member_id.replace("-", "_")
