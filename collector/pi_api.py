"""The AWS Performance Insights API over HTTP: JSON 1.1, `X-Amz-Target:
PerformanceInsightsv20180227.<Operation>`, so boto3's `pi` client works against it with
`endpoint_url`. Signatures are not checked (it listens on 127.0.0.1 only, like every
Borealis service). Served with core.httpapi: requests are validated by the models of
collector.pi_requests, and every refusal comes back the AWS way (`{"__type": ..., "message":
...}` with `x-amzn-ErrorType`): InvalidArgumentException for a request that does not fit,
SerializationException for a body that is not JSON, UnknownOperationException for a target
this API does not have.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from collector.pi_query import PiQueries
from collector.pi_requests import INVALID, PiError
from core.httpapi import AwsJsonErrors, HttpServer, api_app, json_body

TARGET_PREFIX = "PerformanceInsightsv20180227."
CONTENT_TYPE = "application/x-amz-json-1.1"


def create_app(queries: PiQueries) -> Flask:
    """The Flask app of the PI API over `queries`."""
    errors = AwsJsonErrors(
        "1.1", validation_code=INVALID, bad_request_code="SerializationException"
    )
    app = api_app("pi", errors)

    @app.post("/")
    def call() -> Response:
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            raise PiError(
                "UnknownOperationException",
                f"X-Amz-Target must be {TARGET_PREFIX}<Operation>, not {target!r}",
            )
        body = json_body()
        if not isinstance(body, dict):
            raise PiError("SerializationException", "The request body must be a JSON object")
        answer = queries.call(target.removeprefix(TARGET_PREFIX), body)
        return Response(
            app.json.dumps(answer),
            content_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    return app


class PiHttp:
    """The PI API on `ports.pi`."""

    def __init__(
        self,
        host: str,
        port: int,
        queries: PiQueries,
        users: Mapping[str, str] | None = None,
    ) -> None:
        self.queries = queries
        self.app = create_app(queries)
        self.server = HttpServer(
            self.app,
            host=host,
            port=port,
            name="pi",
            setting="ports.pi",
            users=users,
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
