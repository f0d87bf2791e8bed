"""Reboot (RebootDBInstance): restart one instance without failing over, as Aurora does.

A reader restarts in a background job; the writer restarts on the manager's thread, so
nothing decides a failover meanwhile, and its endpoint holds new connections until it is back.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from core.errors import BorealisError
from core.topology import InstanceSpec

if TYPE_CHECKING:
    from cluster.manager import ClusterManager


class Reboot:
    """Reboots one instance for the manager; shares its controller and state."""

    def __init__(self, manager: ClusterManager) -> None:
        self.manager = manager
        self.controller = manager.controller
        self.state = manager.state

    def request(self, instance_id: str) -> dict[str, Any]:
        """Restart one instance without failing over (Aurora does not fail over on a reboot)."""

        def start() -> Future[None] | None:
            topology = self.manager.require_topology()
            spec = self.manager.member(instance_id)
            runtime = self.state.instances[spec.id]
            if runtime.held is not None:
                raise BorealisError(
                    f"{spec.id} is held by a fault ({runtime.held.value}); undo that first"
                )
            if runtime.job is not None:
                raise BorealisError(f"{spec.id} is busy ({runtime.job}); try again shortly")
            if not self.controller.instance_alive(spec.id):
                raise BorealisError(f"{spec.id} is not running; the cluster is healing it")
            if spec.id != topology.writer_id:
                self.manager.start_job(spec.id, "rebooting", self._reboot_reader)
                return self.manager.job_futures[spec.id]
            self._reboot_writer(spec)
            return None

        job = self.manager.call(start)
        if job is not None:
            job.result(timeout=120)
        topology = self.manager.require_topology()
        runtime = self.state.instances[instance_id]
        if runtime.needs_rewind or not self.controller.instance_alive(instance_id):
            raise BorealisError(f"{instance_id} did not come back after the reboot; it is healing")
        return {
            "instance": instance_id,
            "role": topology.role_of(instance_id).value,
            "writer": topology.writer_id,
        }

    def _reboot_reader(self, instance_id: str) -> None:
        topology = self.manager.require_topology()
        spec = topology.instance(instance_id)
        self.controller.stop_instance(spec.id)
        self.controller.start_instance(spec, topology)
        self.manager.after_start(spec)

    def _reboot_writer(self, spec: InstanceSpec) -> None:
        """On the manager thread, so nothing decides a failover meanwhile."""
        runtime = self.state.instances[spec.id]
        runtime.job = "rebooting"
        self.manager.publish_routes()
        try:
            self.controller.stop_instance(spec.id)  # fast: WAL reaches the segments first
            if not self.manager.restart_in_place(spec):
                raise BorealisError(f"{spec.id} did not restart; the cluster is healing it")
        finally:
            runtime.job = None
            self.manager.publish_routes()
