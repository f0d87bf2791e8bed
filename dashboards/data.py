"""The one module that talks to Prometheus and the collector."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from borealis.errors import BorealisError


class DataUnavailable(BorealisError):
    """Prometheus or the collector did not answer."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    times: tuple[float, ...]
    values: tuple[float, ...]


def _get_json(url: str, timeout: float = 5.0) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our URL
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataUnavailable(f"{url.split('?', maxsplit=1)[0]}: {exc}") from None


class PrometheusClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _api(self, path: str, params: dict[str, Any]) -> Any:
        url = f"{self.base_url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        body = _get_json(url)
        if body.get("status") != "success":
            raise DataUnavailable(f"Prometheus: {body.get('error', 'query failed')}")
        return body["data"]

    def query(self, promql: str) -> list[Series]:
        data = self._api("query", {"query": promql})
        return [
            Series(r["metric"], (float(r["value"][0]),), (float(r["value"][1]),))
            for r in data["result"]
        ]

    def query_range(self, promql: str, seconds: float, step: float) -> list[Series]:
        end = time.time()
        data = self._api(
            "query_range", {"query": promql, "start": end - seconds, "end": end, "step": step}
        )
        return [
            Series(
                r["metric"],
                tuple(float(t) for t, _ in r["values"]),
                tuple(float(v) for _, v in r["values"]),
            )
            for r in data["result"]
        ]


class CollectorClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def events(self, minutes: float) -> list[dict[str, Any]]:
        body = _get_json(f"{self.base_url}/api/events?minutes={minutes:g}")
        return list(body.get("Events", []))

    def targets(self) -> list[dict[str, Any]]:
        return list(_get_json(f"{self.base_url}/api/targets").get("targets", []))
