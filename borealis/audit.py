"""The control-plane trail as the supervisor writes it: CloudTrail-shaped records of every
control call (answered or refused) and of the cluster's own starts and stops."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from borealis import control
from cluster.manager import ClusterManager
from core.errors import BorealisError
from core.trail import RDS_SOURCE, Caller, TrailRecord, TrailStore


class Audit:
    def __init__(self, cluster_id: str, region: str) -> None:
        self.cluster_id = cluster_id
        self.region = region
        self.trail: TrailStore | None = None

    def record(
        self,
        name: str,
        caller: Caller,
        parameters: dict[str, Any],
        *,
        response: dict[str, Any] | None = None,
        error: BaseException | None = None,
        source: str = RDS_SOURCE,
        agent: str = "borealis-supervisor",
    ) -> None:
        if self.trail is None:
            return
        code = None
        if error is not None:
            code = getattr(error, "error_code", None) or (
                "InvalidDBClusterStateFault"
                if isinstance(error, BorealisError)
                else "InternalFailure"
            )
        self.trail.add(
            TrailRecord(
                event_name=name,
                caller=caller,
                request_parameters=parameters,
                response_elements=response,
                error_code=code,
                error_message=str(error) if error is not None else None,
                event_source=source,
                user_agent=agent,
                region=self.region,
            )
        )

    def audited(
        self,
        name: str,
        source: str,
        *,
        params: control.Handler,
        act: control.Handler,
        response: Callable[[Any], Any],
    ) -> control.Handler:
        """A control handler whose every call, answered or refused, lands in the trail."""

        def handle(request: dict[str, Any]) -> Any:
            peer = request.get("_peer") or {}
            caller = Caller.from_uid(int(peer.get("uid", os.getuid())), peer.get("pid"))
            agent = str(request.get("user_agent") or "unknown")
            parameters = params(request)
            try:
                result = act(request)
            except Exception as exc:
                self.record(name, caller, parameters, error=exc, source=source, agent=agent)
                raise
            self.record(
                name, caller, parameters, response=response(result), source=source, agent=agent
            )
            return result

        return handle

    def cluster_elements(self, manager: ClusterManager | None) -> dict[str, Any]:
        """The DBCluster shape CloudTrail shows in responseElements (members, writer)."""
        if manager is None or manager.topology is None:
            return {"dBClusterIdentifier": self.cluster_id}
        topology = manager.topology
        return {
            "dBClusterIdentifier": topology.cluster_id,
            "dbClusterResourceId": topology.cluster_resource_id,
            "engine": "aurora-postgresql",
            "dBClusterMembers": [
                {
                    "dBInstanceIdentifier": spec.id,
                    "isClusterWriter": spec.id == topology.writer_id,
                    "promotionTier": spec.tier,
                }
                for spec in topology.instances
            ],
        }
