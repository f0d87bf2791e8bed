"""A real Prometheus process a test starts itself (Debian's /usr/bin/prometheus), with helpers
to query it over its HTTP API."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import wait_for
from testsupport.waiting import answers_200

BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class PrometheusProcess:
    """`argv` without the listen address; `port` is where it listens on 127.0.0.1."""

    argv: list[str]
    port: int
    log_file: Path
    popen: subprocess.Popen[bytes] | None = None

    @classmethod
    def with_config(
        cls, root: Path, port: int, config: dict[str, Any], *extra: str
    ) -> PrometheusProcess:
        root.mkdir(parents=True, exist_ok=True)
        config_file = root / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        argv = [
            BINARY,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={root / 'data'}",
            *extra,
        ]
        return cls(argv, port, root / "prometheus.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusProcess:
        with open(self.log_file, "ab") as log:
            self.popen = subprocess.Popen(
                [*self.argv, f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.ready, 30, what=f"Prometheus on {self.port} ready")
        return self

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(timeout=30)
            self.popen = None

    def ready(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"Prometheus exited: {self.log_file.read_text()[-3000:]}")
        return answers_200(f"{self.url}/-/ready")

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api/v1/{path}?{query}"
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        return list(self.api("query", query=promql)["result"])

    def series(self, match: str = '{__name__=~".+"}') -> set[frozenset[tuple[str, str]]]:
        """Every series (label set) the head holds that matches `match`."""
        return {frozenset(s.items()) for s in self.api("series", **{"match[]": match})}

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
