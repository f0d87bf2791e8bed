"""The AWS Performance Insights API over HTTP: JSON 1.1, `X-Amz-Target:
PerformanceInsightsv20180227.<Operation>`, so boto3's `pi` client works against it with
`endpoint_url`. Signatures are not checked (it listens on 127.0.0.1 only, like every
Borealis service); errors come back the AWS way: `{"__type": ..., "message": ...}`.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from collector.pi_query import PiError, PiQueries

log = logging.getLogger(__name__)

TARGET_PREFIX = "PerformanceInsightsv20180227."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_BODY = 1 << 20


class PiHttp:
    def __init__(self, host: str, port: int, queries: PiQueries) -> None:
        self.queries = queries
        self.requests_total = 0
        self.errors_total = 0
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="pi-http", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, target: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request."""
        self.requests_total += 1
        try:
            if not target.startswith(TARGET_PREFIX):
                raise PiError(
                    "UnknownOperationException",
                    f"X-Amz-Target must be {TARGET_PREFIX}<Operation>, not {target!r}",
                )
            try:
                body = json.loads(raw or b"{}")
            except ValueError as exc:
                raise PiError("SerializationException", f"The body is not JSON: {exc}") from None
            return 200, self.queries.call(target.removeprefix(TARGET_PREFIX), body)
        except PiError as exc:
            self.errors_total += 1
            return exc.status, {"__type": exc.code, "message": exc.message}
        except Exception:
            self.errors_total += 1
            log.exception("PI API request %s failed", target)
            return 500, {"__type": "InternalServiceError", "message": "internal error"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "borealis-pi"
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("pi http: " + format, *args)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._send(413, {"__type": "SerializationException", "message": "too big"})
                    return
                raw = self.rfile.read(length) if length else b""
                status, payload = outer.handle(self.headers.get("X-Amz-Target", ""), raw)
                self._send(status, payload)

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/healthz":
                    self._send(200, {"status": "ok"})
                else:
                    self._send(404, {"__type": "NotFound", "message": "POST PI API calls to /"})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", str(payload.get("__type", "")))
                self.end_headers()
                self.wfile.write(body)

        return Handler
