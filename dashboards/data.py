"""The one module that talks to Prometheus and the collector."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import BorealisError


class DataUnavailable(BorealisError):
    """A data source (Prometheus, the collector, its PI API) gave no usable answer.

    The message names the source, where it was asked and why it failed, for the page to show:
    ``Prometheus unavailable at http://127.0.0.1:25490: [Errno 111] Connection refused``."""

    def __init__(self, source: str, url: str, reason: str) -> None:
        super().__init__(f"{source} unavailable at {url}: {reason}")
        self.source = source
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    times: tuple[float, ...]
    values: tuple[float, ...]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, ValueError):
        return f"the answer is not JSON ({exc})"
    return str(exc) or type(exc).__name__


def _get_json(
    source: str,
    base_url: str,
    url: str,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """The JSON body at `url` (`headers`: the stack's credentials when auth is on). An HTTP
    error with a JSON body (Prometheus' 400 and 422 for a bad query) is returned for the
    caller to read its error; anything else is unavailable."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - our URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our URL
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            body = json.load(exc)
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        raise DataUnavailable(source, base_url, _reason(exc)) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataUnavailable(source, base_url, _reason(exc)) from None


class PrometheusClient:
    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def _api(self, path: str, params: dict[str, Any]) -> Any:
        url = f"{self.base_url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        body = _get_json("Prometheus", self.base_url, url, headers=self.headers)
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "no error given") if isinstance(body, dict) else body
            raise DataUnavailable("Prometheus", self.base_url, f"the query failed: {error}")
        return body["data"]

    def query(self, promql: str) -> list[Series]:
        data = self._api("query", {"query": promql})
        return [
            Series(r["metric"], (float(r["value"][0]),), (float(r["value"][1]),))
            for r in data["result"]
        ]

    def query_range(
        self, promql: str, seconds: float, step: float, end: float | None = None
    ) -> list[Series]:
        """The `seconds` of `promql` before `end` (default: now) at `step`; both must be
        positive (a programming error otherwise, not an unavailable Prometheus). The last
        point falls on `end` itself (a step that does not divide `seconds` drops the part
        of a step at the start, never the newest data)."""
        if not (seconds > 0 and step > 0):
            raise ValueError(f"query_range needs seconds and step > 0, not {seconds}, {step}")
        end = time.time() if end is None else end
        start = end - math.floor(seconds / step) * step
        data = self._api("query_range", {"query": promql, "start": start, "end": end, "step": step})
        return [
            Series(
                r["metric"],
                tuple(float(t) for t, _ in r["values"]),
                tuple(float(v) for _, v in r["values"]),
            )
            for r in data["result"]
        ]


class CollectorClient:
    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # e.g. Authorization when auth is on

    def _get(self, path: str) -> dict[str, Any]:
        body = _get_json("the collector", self.base_url, self.base_url + path, headers=self.headers)
        if not isinstance(body, dict):
            raise DataUnavailable("the collector", self.base_url, f"unexpected answer {body!r}")
        if "error" in body or "message" in body:
            reason = body.get("error") or body.get("message")
            raise DataUnavailable("the collector", self.base_url, f"refused: {reason}")
        return body

    def events(self, minutes: float) -> list[dict[str, Any]]:
        return list(self._get(f"/api/events?minutes={minutes:g}").get("Events", []))

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/targets").get("targets", []))
