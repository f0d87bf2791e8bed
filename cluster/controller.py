"""Acting on the cluster: create, start, stop, promote, repoint, rewind. No decisions here.

Every method does one thing to real processes and reports failure with an exception;
choosing *what* to do is the manager's job (`cluster.decide`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from cluster import pgconf, pgctl, tls
from cluster.bootstrap import bootstrap_writer
from cluster.layout import Layout
from cluster.sqlconn import InstanceUnreachable, connect
from cluster.storage import Process, Processes, SegmentControl
from core.credentials import SUPERUSER, Credentials
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings import Settings
from core.topology import InstanceSpec, Topology
from core.waiting import WaitTimeout, wait_until

log = logging.getLogger(__name__)


class ClusterError(BorealisError):
    pass


class ClusterController(SegmentControl):
    def __init__(self, settings: Settings, paths: StatePaths) -> None:
        self.settings = settings
        self.paths = paths
        self.user = pgctl.OsUser.lookup(settings.os_user)
        self.tools = pgctl.PgTools(settings.pg_bin, self.user)
        self.procs = Processes()
        self.layout = Layout(paths, self.user)
        self._credentials: Credentials | None = None

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = Credentials.load(self.paths.secrets)
        return self._credentials

    def connect(
        self, port: int, **kw: Any
    ) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        """A superuser session to an instance, over TLS verified against the cluster CA."""
        return connect(port, self.credentials, tls=self.paths.tls_client_options(), **kw)

    def ensure_tls(self, topology: Topology) -> list[str]:
        """Make the CA and server certificates that are missing (see cluster.tls)."""
        return tls.ensure_certificates(self.paths, topology, self.user)

    def write_hba(self, data: Path) -> None:
        path = data / "pg_hba.conf"
        path.write_text(pgconf.hba_conf(require_tls=self.settings.tls.require_clients))
        self.user.chown(path)

    def write_pgpass(self) -> None:
        path = self.paths.pgpass
        path.write_text(self.credentials.pgpass_text())
        os.chmod(path, 0o600)
        self.user.chown(path)

    # --- creating a cluster ------------------------------------------------------------

    def create(self, topology: Topology) -> None:
        """initdb the writer, bootstrap roles and extensions, start the storage volume, and
        clone every reader from the writer. Leaves everything running."""
        self.layout.prepare(topology)
        for line in self.ensure_tls(topology):
            log.info("%s", line)
        credentials = Credentials.generate()
        credentials.save(self.paths.secrets)
        self._credentials = credentials
        self.write_pgpass()

        writer = topology.writer
        data = self.paths.data_dir(writer.id)
        self.layout.pg_dir(data)
        pwfile = self.paths.pg / ".initdb-pw"
        pwfile.write_text(credentials.superuser + "\n")
        self.user.chown(pwfile)
        try:
            self.tools.initdb(data, pwfile)
        finally:
            pwfile.unlink(missing_ok=True)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("\ninclude 'borealis.conf'\n")
        self.write_shared_conf(data, topology, quorum=False)

        self.start_instance(writer, topology)
        bootstrap_writer(self.connect, writer.port, self.credentials)
        self.ensure_slots(writer, [s.slot for s in topology.segments])
        self.ensure_slots(writer, [pgconf.slot_name(r.id) for r in topology.readers])
        for seg in topology.segments:
            self.start_segment(seg, topology)
        self.write_shared_conf(data, topology, quorum=True)
        self.reload(writer)
        self._check_quorum_setting(writer, topology)
        for reader in topology.readers:
            self.clone_reader(reader, topology)
            self.start_instance(reader, topology)

    def write_shared_conf(self, data: Path, topology: Topology, *, quorum: bool = True) -> None:
        path = data / "borealis.conf"
        path.write_text(pgconf.shared_conf(self.settings, topology, self.paths, quorum=quorum))
        self.user.chown(path)

    def _check_quorum_setting(self, writer: InstanceSpec, topology: Topology) -> None:
        """A bad value is ignored on reload with only a log line: make sure it took."""
        expected = topology.synchronous_standby_names()

        def accepted() -> bool:
            with self.connect(writer.port) as conn:
                row = conn.execute("show synchronous_standby_names").fetchone()
            return bool(row and row[0] == expected)

        try:
            wait_until(accepted, timeout=5, interval=0.05, what="synchronous_standby_names")
        except WaitTimeout:
            raise ClusterError(
                f"{writer.id} did not accept synchronous_standby_names = {expected}"
            ) from None

    def clone_reader(self, spec: InstanceSpec, topology: Topology) -> None:
        data = self.paths.data_dir(spec.id)
        pgctl.remove_tree(data)
        self.layout.pg_dir(data)
        self.ensure_slots(topology.writer, [pgconf.slot_name(spec.id)])
        source = pgconf.replication_dsn(topology.writer, self.paths, f"{spec.id}-clone")
        self.tools.basebackup(data, source, pgconf.slot_name(spec.id))
        self.configure_as_reader(spec, topology)

    def configure_as_reader(self, spec: InstanceSpec, topology: Topology) -> None:
        data = self.paths.data_dir(spec.id)
        (data / "standby.signal").touch()
        self.user.chown(data / "standby.signal")
        auto = data / "postgresql.auto.conf"
        auto.write_text(pgconf.standby_auto_conf(spec, topology.writer, self.paths))
        self.user.chown(auto)
        for leftover in ("backup_label.old", "recovery.signal"):
            (data / leftover).unlink(missing_ok=True)

    def configure_as_writer(self, spec: InstanceSpec) -> None:
        data = self.paths.data_dir(spec.id)
        (data / "standby.signal").unlink(missing_ok=True)
        auto = data / "postgresql.auto.conf"
        auto.write_text("# Written by Borealis: this instance is the writer.\n")
        self.user.chown(auto)

    # --- instances ---------------------------------------------------------------------

    def instance_pid(self, instance_id: str) -> int | None:
        proc = self.procs.instances.get(instance_id)
        if proc is not None and proc.alive():
            return proc.pid
        pid = pgctl.postmaster_pid(self.paths.data_dir(instance_id))
        if pid and pgctl.is_alive(pid) and self._is_postmaster_of(pid, instance_id):
            self.procs.instances[instance_id] = Process(pid)
            return pid
        return None

    def _is_postmaster_of(self, pid: int, instance_id: str) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.paths.data_dir(instance_id)).encode() in cmdline

    def instance_alive(self, instance_id: str) -> bool:
        return self.instance_pid(instance_id) is not None

    def start_instance(self, spec: InstanceSpec, topology: Topology, timeout: float = 60.0) -> None:
        """Start a postmaster (as writer or reader, by the topology) and wait until it serves."""
        if self.instance_alive(spec.id):
            return
        data = self.paths.data_dir(spec.id)
        if spec.id == topology.writer_id:
            (data / "standby.signal").unlink(missing_ok=True)
        else:
            self.configure_as_reader(spec, topology)
        if not self._pid_file_live(data):
            (data / "postmaster.pid").unlink(missing_ok=True)
        self.write_hba(data)
        popen = self.tools.start_postmaster(
            data,
            pgconf.node_options(spec, self.paths),
            self.paths.logs / "pg" / f"{spec.id}.log",
        )
        self.procs.instances[spec.id] = Process(popen.pid, popen)
        self.wait_ready(spec, timeout)
        if spec.id != topology.writer_id:
            self.prepare_slots(spec, topology)

    def prepare_slots(self, spec: InstanceSpec, topology: Topology) -> None:
        """Give a reader, ahead of time, the slots it needs should it be promoted: the
        storage volume's and the other members'. They reserve no WAL until used, and save
        creating them (an fsync each) while a failover is under way."""
        names = [s.slot for s in topology.segments] + [
            pgconf.slot_name(i.id) for i in topology.instances if i.id != spec.id
        ]
        self.ensure_slots(spec, names, reserve=False)

    @staticmethod
    def _pid_file_live(data: Path) -> bool:
        return pgctl.is_alive(pgctl.postmaster_pid(data))

    def wait_ready(self, spec: InstanceSpec, timeout: float) -> None:
        data = self.paths.data_dir(spec.id)
        proc = self.procs.instances.get(spec.id)

        def ready() -> bool:
            if proc is not None and not proc.alive():
                raise ClusterError(
                    f"{spec.id} exited while starting; see {self.paths.logs / 'pg' / spec.id}.log"
                )
            if pgctl.postmaster_status(data) != "ready":
                return False
            with self.connect(spec.port, timeout=2) as conn:
                conn.execute("select 1")
            return True

        try:
            wait_until(
                ready,
                timeout=timeout,
                interval=0.05,
                retry_on=(InstanceUnreachable,),
                what=f"{spec.id} ready",
            )
        except WaitTimeout:
            raise ClusterError(f"{spec.id} did not become ready within {timeout:.0f} s") from None

    def stop_instance(self, instance_id: str, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, WAL is flushed and shipped."""
        pid = self.instance_pid(instance_id)
        pgctl.stop_process(pid, sig=signal.SIGINT, timeout=timeout)
        self._reap(instance_id)

    def kill_instance(self, instance_id: str) -> None:
        """SIGKILL the postmaster and every backend: a crash, or fencing a writer. Backends
        a killed postmaster left behind are found by their working directory (the data
        directory) and killed too, so none can still acknowledge a commit."""
        pid = self.instance_pid(instance_id)
        if pid:
            pgctl.signal_tree(pid, signal.SIGKILL)
            pgctl.wait_gone(pid, 5.0)
        for orphan in pgctl.processes_in(self.paths.data_dir(instance_id)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
        self._reap(instance_id)

    def signal_instance(self, instance_id: str, sig: signal.Signals) -> None:
        pid = self.instance_pid(instance_id)
        if pid is None:
            raise ClusterError(f"{instance_id} is not running")
        pgctl.signal_tree(pid, sig)

    def _reap(self, instance_id: str) -> None:
        proc = self.procs.instances.pop(instance_id, None)
        if proc is not None and proc.popen is not None:
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("%s did not exit after stop", instance_id)

    def reload(self, spec: InstanceSpec) -> None:
        with self.connect(spec.port) as conn:
            conn.execute("select pg_reload_conf()")

    def ensure_slots(self, spec: InstanceSpec, names: list[str], *, reserve: bool = True) -> None:
        with self.connect(spec.port) as conn:
            existing = {
                row[0] for row in conn.execute("select slot_name from pg_replication_slots")
            }
            for name in names:
                if name not in existing:
                    conn.execute(
                        "select pg_create_physical_replication_slot(%s, %s)", (name, reserve)
                    )

    # --- failover steps ----------------------------------------------------------------

    def feed_from_segment(self, candidate: InstanceSpec, segment_id: str) -> None:
        """Let a reader replay WAL straight from a storage segment's files."""
        directory = self.paths.segment_dir(segment_id)
        command = f"cp {directory}/%f %p 2>/dev/null || cp {directory}/%f.partial %p"
        with self.connect(candidate.port) as conn:
            conn.execute(
                sql.SQL("alter system set restore_command = {}").format(sql.Literal(command))
            )
            conn.execute("alter system reset recovery_min_apply_delay")
            conn.execute("select pg_reload_conf()")
            if conn.execute("select pg_is_wal_replay_paused()").fetchone()[0]:  # type: ignore[index]
                conn.execute("select pg_wal_replay_resume()")

    def replay_lsn(self, spec: InstanceSpec) -> int | None:
        with self.connect(spec.port, timeout=1) as conn:
            row = conn.execute("select pg_last_wal_replay_lsn()::text").fetchone()
        return pgctl.parse_lsn(row[0]) if row and row[0] else None

    def promote(self, spec: InstanceSpec, timeout: float) -> None:
        """Promote and wait for it (polling finely: pg_promote's own wait sleeps 100 ms)."""
        with self.connect(spec.port, timeout=2) as conn:
            row = conn.execute("select pg_promote(false)").fetchone()
            if not row or not row[0]:
                raise ClusterError(f"{spec.id} refused to promote")
            try:
                wait_until(
                    lambda: conn.execute("select pg_is_in_recovery()").fetchone() != (True,),
                    timeout=timeout,
                    interval=0.005,
                    what=f"{spec.id} out of recovery",
                )
            except WaitTimeout:
                raise ClusterError(
                    f"{spec.id} did not finish promotion within {timeout:.0f} s"
                ) from None
            # Drop the standby settings (restore_command, primary_conninfo, slot, apply delay).
            self.configure_as_writer(spec)
            conn.execute("select pg_reload_conf()")

    def repoint_reader(self, spec: InstanceSpec, topology: Topology) -> None:
        """Stream from the new writer without a restart (PG 13+ reloads primary_conninfo)."""
        dsn = pgconf.replication_dsn(topology.writer, self.paths, spec.id)
        with self.connect(spec.port, timeout=2) as conn:
            conn.execute(sql.SQL("alter system set primary_conninfo = {}").format(sql.Literal(dsn)))
            conn.execute(
                sql.SQL("alter system set primary_slot_name = {}").format(
                    sql.Literal(pgconf.slot_name(spec.id))
                )
            )
            conn.execute("alter system reset restore_command")
            conn.execute("select pg_reload_conf()")

    def rewind(self, spec: InstanceSpec, topology: Topology) -> str:
        """Make a former writer (or a diverged reader) follow the writer's timeline."""
        data = self.paths.data_dir(spec.id)
        source = make_conninfo(
            host="127.0.0.1",
            port=topology.writer.port,
            user=SUPERUSER,
            dbname="postgres",
            passfile=str(self.paths.pgpass),
            connect_timeout=5,
            **self.paths.tls_client_options(),
        )
        self.ensure_slots(topology.writer, [pgconf.slot_name(spec.id)])
        # A just-promoted writer records its new timeline in pg_control only at its next
        # checkpoint; until then pg_rewind believes both are on the same timeline and
        # wrongly decides that no rewind is needed.
        with self.connect(topology.writer.port, timeout=5) as conn:
            conn.execute("checkpoint")
        output = self.tools.rewind(data, source)
        # pg_rewind copies the writer's configuration files: put this node's back.
        self.configure_as_reader(spec, topology)
        return output
