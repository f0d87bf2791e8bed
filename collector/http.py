"""The collector's HTTP endpoints: /metrics, /healthz and a small JSON API (core.httpapi)."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.openmetrics.exposition import UNDERSCORES
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from pydantic import Field

from collector.exposition import render, render_openmetrics
from collector.poller import InstancePoller
from core.events import EventStore
from core.httpapi import HttpServer, JsonErrors, RequestModel, api_app, query_model

MAX_MINUTES = 100 * 366 * 24 * 60  # a century: what a timedelta back from now can hold


class EventsQuery(RequestModel):
    """`/api/events?minutes=N`: the events of the last N minutes."""

    minutes: float = Field(60.0, gt=0, le=MAX_MINUTES)


def metrics_body(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """/metrics in the format the scraper's Accept asks for, chosen as prometheus_client
    chooses it: OpenMetrics when asked for, else the classic text format. The two formats
    Prometheus asks for are rendered by collector.exposition (faster than, and equal to,
    prometheus_client's); any other choice (escaping schemes, text 1.0) by prometheus_client."""
    encoder, content_type = choose_encoder(accept)
    if encoder is generate_latest:
        return render(registry), content_type
    if encoder is openmetrics_latest or (
        isinstance(encoder, functools.partial)
        and encoder.func is openmetrics_latest
        and encoder.keywords == {"escaping": UNDERSCORES, "version": "1.0.0"}
    ):
        return render_openmetrics(registry), content_type
    return encoder(registry), content_type


def create_app(
    registry: CollectorRegistry, pollers: list[InstancePoller], events: EventStore | None
) -> Flask:
    app = api_app("collector", JsonErrors())

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = metrics_body(registry, request.headers.get("Accept", ""))
        return Response(body, content_type=content_type)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        now = time.monotonic()
        up = sum(1 for p in pollers if p.is_up(now))
        return {"status": "ok", "targets": len(pollers), "up": up}

    @app.get("/api/targets")
    def targets() -> dict[str, Any]:
        now = time.monotonic()
        return {
            "targets": [
                {
                    "cluster": p.target.cluster,
                    "db_instance": p.target.db_instance,
                    "resource_id": p.target.resource_id,
                    "az": p.target.az,
                    "tier": p.target.tier,
                    "role": p.role,
                    "up": p.is_up(now),
                    "dsn": p.target.safe_dsn,
                    "errors": p.latest.errors if p.latest else {},
                }
                for p in pollers
            ]
        }

    @app.get("/api/events")
    def list_events() -> dict[str, Any]:
        query = query_model(EventsQuery)
        if events is None:
            return {"Events": []}
        since = datetime.now(UTC) - timedelta(minutes=query.minutes)
        return {"Events": [e.to_api() for e in events.list(since=since)]}

    return app


class CollectorHttp:
    """The collector's endpoints on `ports.collector`."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        pollers: list[InstancePoller],
        events: EventStore | None,
        *,
        users: Mapping[str, str] | None = None,
    ) -> None:
        """`users` (name -> bcrypt hash): basic auth in front of every path but /healthz."""
        self.registry = registry
        self.pollers = pollers
        self.events = events
        self.app = create_app(registry, pollers, events)
        self.server = HttpServer(
            self.app,
            host=host,
            port=port,
            name="collector",
            setting="ports.collector",
            users=users,
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
