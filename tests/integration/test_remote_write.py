"""`prometheus.remote_write`: the Prometheus Borealis configures (its real generated config and
rule files) writes every series it holds to a second, real Prometheus started with its
remote-write receiver, the way Mimir, Thanos Receive or VictoriaMetrics receive it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from borealis import prometheus
from core.paths import StatePaths
from core.settings import load_settings
from tests.conftest import INTEGRATION_PORTS, wait_for
from tests.integration.promproc import PrometheusProcess

pytestmark = pytest.mark.integration

SENDER_PORT = INTEGRATION_PORTS + 800
RECEIVER_PORT = INTEGRATION_PORTS + 801
EXPORTER_PORT = INTEGRATION_PORTS + 802  # stands where the collector would be

EXPOSITION = (
    "# HELP synthetic_rows_total Rows seen.\n# TYPE synthetic_rows_total counter\n"
    + "".join(
        f'synthetic_rows_total{{cluster="c1",db_instance="i{n}"}} {n * 10}\n' for n in range(5)
    )
    + "# HELP synthetic_lag_seconds Lag.\n# TYPE synthetic_lag_seconds gauge\n"
    'synthetic_lag_seconds{cluster="c1",db_instance="i1"} 0.25\n'
)


@pytest.fixture
def exporter() -> Iterator[None]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = EXPOSITION.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", EXPORTER_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield
    server.shutdown()
    server.server_close()


def test_every_series_of_the_first_prometheus_reaches_the_second(
    tmp_path: Path, exporter: None
) -> None:
    receiver = PrometheusProcess.with_config(
        tmp_path / "receiver",
        RECEIVER_PORT,
        {"global": {"scrape_interval": "1m"}},
        "--web.enable-remote-write-receiver",
    )
    token = tmp_path / "token"
    token.write_text("remote-write-token\n")
    settings = load_settings(
        environ={},
        overrides={
            "state_dir": str(tmp_path / "state"),
            "ports.collector": EXPORTER_PORT,
            "ports.prometheus": SENDER_PORT,
            "prometheus.remote_write.url": f"http://127.0.0.1:{RECEIVER_PORT}/api/v1/write",
            "prometheus.remote_write.bearer_token_file": str(token),
            "prometheus.remote_write.batch_send_deadline_s": 0.5,
        },
    )
    spec = prometheus.service(settings, StatePaths(settings.state_dir))
    written = yaml.safe_load((settings.state_dir / "prometheus" / "prometheus.yml").read_text())
    assert written["remote_write"][0]["authorization"] == {
        "type": "Bearer",
        "credentials_file": str(token),
    }
    argv = [a for a in spec.argv if not a.startswith("--web.listen-address")]
    sender = PrometheusProcess(argv, SENDER_PORT, tmp_path / "sender.log")
    with receiver, sender:
        wait_for(
            lambda: len(sender.query("synthetic_rows_total")) == 5,
            30,
            what="the sender scraping the exporter",
        )
        wait_for(lambda: sender.query('up{job="prometheus"} == 1'), 30, what="self-scrape")
        first = sender.series()
        assert any(dict(s)["__name__"] == "prometheus_build_info" for s in first)

        def missing() -> set[frozenset[tuple[str, str]]]:
            return first - receiver.series()

        wait_for(lambda: not missing(), 60, what=f"every series in the receiver: {missing()}")
        lag = receiver.query('synthetic_lag_seconds{db_instance="i1"}')
        assert float(lag[0]["value"][1]) == 0.25
        sent = sender.query("sum(prometheus_remote_storage_samples_total)")
        assert float(sent[0]["value"][1]) > 0
