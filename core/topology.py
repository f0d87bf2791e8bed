"""The cluster's shape: instances, segments, the current writer. Persisted as JSON."""

from __future__ import annotations

import enum
import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.ids import new_resource_id
from core.jsonfile import load_json_file

AZ_LETTERS = ("a", "b", "c")
SEGMENTS_PER_AZ = 2
WRITE_QUORUM = 4
READ_QUORUM = 3


class Role(enum.StrEnum):
    WRITER = "writer"
    READER = "reader"

    @property
    def cloudwatch(self) -> str:
        """The value of CloudWatch's `Role` dimension."""
        return self.value.upper()


class InstanceState(enum.StrEnum):
    AVAILABLE = "available"
    STARTING = "starting"
    REBOOTING = "rebooting"
    FAILING_OVER = "failing-over"
    REJOINING = "rejoining"
    UNRESPONSIVE = "unresponsive"
    FAILED = "failed"
    STOPPED = "stopped"


class SegmentState(enum.StrEnum):
    AVAILABLE = "available"
    STARTING = "starting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class InstanceSpec:
    id: str
    resource_id: str
    az: str
    tier: int
    port: int


@dataclass(frozen=True)
class SegmentSpec:
    id: str
    az: str

    @property
    def slot(self) -> str:
        return self.id.replace("-", "_")


@dataclass(frozen=True)
class Topology:
    cluster_id: str
    cluster_resource_id: str
    region: str
    instances: tuple[InstanceSpec, ...]
    segments: tuple[SegmentSpec, ...]
    writer_id: str

    @property
    def azs(self) -> tuple[str, ...]:
        return tuple(f"{self.region}{letter}" for letter in AZ_LETTERS)

    @property
    def writer(self) -> InstanceSpec:
        return self.instance(self.writer_id)

    @property
    def readers(self) -> tuple[InstanceSpec, ...]:
        return tuple(i for i in self.instances if i.id != self.writer_id)

    def instance(self, instance_id: str) -> InstanceSpec:
        for spec in self.instances:
            if spec.id == instance_id:
                return spec
        known = ", ".join(i.id for i in self.instances)
        raise KeyError(f"no instance {instance_id!r} in cluster {self.cluster_id} (known: {known})")

    def segment(self, segment_id: str) -> SegmentSpec:
        for spec in self.segments:
            if spec.id == segment_id:
                return spec
        known = ", ".join(s.id for s in self.segments)
        raise KeyError(f"no segment {segment_id!r} (known: {known})")

    def role_of(self, instance_id: str) -> Role:
        return Role.WRITER if instance_id == self.writer_id else Role.READER

    def with_writer(self, instance_id: str) -> Topology:
        self.instance(instance_id)
        return replace(self, writer_id=instance_id)

    def resolve_az(self, name: str) -> str:
        """Accept `local-1a` or just `a`."""
        for az in self.azs:
            if name in (az, az[-1]):
                return az
        raise KeyError(f"no availability zone {name!r} (known: {', '.join(self.azs)})")

    def synchronous_standby_names(self) -> str:
        names = ",".join(f'"{s.id}"' for s in self.segments)
        return f"ANY {WRITE_QUORUM} ({names})"

    # --- persistence --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Topology:
        remedy = (
            f"restore it from a backup, or remove the state directory {path.parent} "
            "(and its data root, `pg-root` in it) to create a new cluster"
        )
        topology = load_json_file(path, cls, "topology file", remedy)
        if not topology.instances or topology.writer_id not in {i.id for i in topology.instances}:
            raise ConfigError(
                f"{path} is not a valid topology file (writer_id names no instance); {remedy}"
            )
        return topology


def default_tier(reader_index: int) -> int:
    """Readers get distinct tiers 0, 1, 2, ... (capped at 15) so failover order is explicit."""
    return min(reader_index, 15)


def plan_topology(cluster_id: str, region: str, readers: int, first_port: int) -> Topology:
    """A new cluster: instance 1 is the writer in AZ a; readers spread over b, c, a, ..."""
    azs = [f"{region}{letter}" for letter in AZ_LETTERS]
    instances = []
    for index in range(readers + 1):
        instances.append(
            InstanceSpec(
                id=f"{cluster_id}-instance-{index + 1}",
                resource_id=new_resource_id(),
                az=azs[index % len(azs)],
                tier=1 if index == 0 else default_tier(index - 1),
                port=first_port + index,
            )
        )
    segments = tuple(
        SegmentSpec(id=f"seg-{letter}{n}", az=f"{region}{letter}")
        for letter in AZ_LETTERS
        for n in range(1, SEGMENTS_PER_AZ + 1)
    )
    return Topology(
        cluster_id=cluster_id,
        cluster_resource_id=new_resource_id("cluster-"),
        region=region,
        instances=tuple(instances),
        segments=segments,
        writer_id=instances[0].id,
    )


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
