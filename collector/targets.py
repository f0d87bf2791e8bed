"""What the collector watches: instances of the Borealis cluster, or DSNs from a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from core.credentials import MONITOR_USER, Credentials
from core.errors import ConfigError
from core.paths import StatePaths
from core.topology import Topology
from core.yamlconf import load_located_file

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    cluster: str
    db_instance: str
    dsn: str = field(repr=False)  # may hold a password: safe_dsn is the one to show
    resource_id: str = ""
    az: str = ""
    expected_role: str = UNKNOWN  # what the topology says; the collector checks for itself
    log_dir: str | None = None
    tier: int | None = None  # the promotion tier, when a Borealis topology gives it

    @property
    def safe_dsn(self) -> str:
        """The DSN without its password, for logs and the targets API."""
        params = psycopg.conninfo.conninfo_to_dict(self.dsn)
        params.pop("password", None)
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


def targets_from_state(paths: StatePaths) -> list[Target]:
    """Every instance of the Borealis cluster in a state directory, as the monitor role."""
    topology = Topology.load(paths.topology)
    credentials = Credentials.load(paths.secrets)
    tls = paths.tls_client_options()  # verify-full against the cluster CA, once made
    targets = []
    for inst in topology.instances:
        dsn = psycopg.conninfo.make_conninfo(
            host="127.0.0.1",
            port=inst.port,
            user=MONITOR_USER,
            password=credentials.monitor,
            dbname="postgres",
            **tls,
        )
        targets.append(
            Target(
                cluster=topology.cluster_id,
                db_instance=inst.id,
                dsn=dsn,
                resource_id=inst.resource_id,
                az=inst.az,
                expected_role=topology.role_of(inst.id).value,
                log_dir=str(paths.pg_log_dir(inst.id)),
                tier=inst.tier,
            )
        )
    return targets


_TARGET_KEYS = {"id", "dsn", "resource_id", "az", "log_dir"}


def _log_dir(targets_file: Path, value: object) -> str:
    directory = Path(str(value)).expanduser()
    return str(directory if directory.is_absolute() else targets_file.parent / directory)


def _dsn_problem(exc: Exception) -> str:
    """libpq's complaint without the piece of the DSN it quotes (`missing "=" after "cret"`
    may be the end of a password)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
    return re.sub(r'after "[^"]*"', "after a value", first)


def targets_from_file(path: Path) -> list[Target]:
    """Targets from YAML::

    clusters:
      - id: prod-aurora
        instances:
          - id: prod-aurora-instance-1
            dsn: "host=... port=5432 user=monitor dbname=postgres sslmode=verify-full"
            resource_id: db-ABC...   # optional: the PI API identifier
            az: us-east-1a           # optional
            log_dir: /var/log/postgresql/prod-1   # optional: its jsonlog directory, tailed

    The DSN is libpq's: `sslmode`, `sslrootcert`, `sslcert`, `passfile`, `service` pass
    through unchanged. A relative `log_dir` is relative to the file.
    """
    document = load_located_file(path)
    clusters = document.value.get("clusters") if isinstance(document.value, dict) else None
    if clusters is None or not isinstance(clusters.value, list):
        raise ConfigError(f"{path}:{document.line}: expected a 'clusters:' list")
    targets: list[Target] = []
    seen: set[str] = set()
    for cluster in clusters.value:
        if not isinstance(cluster.value, dict) or "id" not in cluster.value:
            raise ConfigError(f"{path}:{cluster.line}: each cluster needs an 'id'")
        cluster_id = str(cluster.value["id"].value)
        instances = cluster.value.get("instances")
        if instances is None or not isinstance(instances.value, list):
            raise ConfigError(f"{path}:{cluster.line}: cluster {cluster_id} needs 'instances:'")
        for inst in instances.value:
            if not isinstance(inst.value, dict):
                raise ConfigError(f"{path}:{inst.line}: an instance must be a mapping")
            unknown = set(inst.value) - _TARGET_KEYS
            if unknown:
                name = sorted(unknown)[0]
                raise ConfigError(
                    f"{path}:{inst.value[name].line}: unknown key {name!r} "
                    f"(known: {', '.join(sorted(_TARGET_KEYS))})"
                )
            for required in ("id", "dsn"):
                if required not in inst.value:
                    raise ConfigError(f"{path}:{inst.line}: instance needs {required!r}")
            dsn = str(inst.value["dsn"].value)
            try:
                psycopg.conninfo.conninfo_to_dict(dsn)
            except psycopg.ProgrammingError as exc:
                raise ConfigError(
                    f"{path}:{inst.value['dsn'].line}: bad dsn: {_dsn_problem(exc)}"
                ) from None
            instance_id = str(inst.value["id"].value)
            if instance_id in seen:
                raise ConfigError(f"{path}:{inst.line}: duplicate instance id {instance_id!r}")
            seen.add(instance_id)
            targets.append(
                Target(
                    cluster=cluster_id,
                    db_instance=instance_id,
                    dsn=dsn,
                    resource_id=str(inst.value["resource_id"].value)
                    if "resource_id" in inst.value
                    else "",
                    az=str(inst.value["az"].value) if "az" in inst.value else "",
                    log_dir=_log_dir(path, inst.value["log_dir"].value)
                    if "log_dir" in inst.value
                    else None,
                )
            )
    return targets
