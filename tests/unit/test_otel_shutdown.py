"""The OTLP sink's shutdown is bounded: an endpoint that accepts connections and never answers
must not hold up `borealis down` (the flush gives up after `timeout_s`, and says so)."""

from __future__ import annotations

import logging
import socket

import pytest

from collector.logs.otel_sink import OtelLogSink
from collector.targets import Target
from tests.unit.logfixtures import item

TARGET = Target("c", "i-1", "host=127.0.0.1", resource_id="db-TEST")


@pytest.mark.timeout(60)
def test_shutdown_gives_up_on_an_endpoint_that_never_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections queue up; nothing ever reads them
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}/v1/logs"
        sink = OtelLogSink(endpoint, [TARGET], schedule_delay_ms=60_000)
        sink.emit(TARGET, item(error_severity="ERROR", message="disk full"))
        with caplog.at_level(logging.WARNING, logger="collector.logs.otel_sink"):
            sink.shutdown(timeout_s=0.3)
    assert "OTLP shutdown gives up: timed out after 0.3 s waiting for the OTLP exporters" in (
        caplog.text
    )


def test_shutdown_with_nothing_to_flush_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    sink = OtelLogSink("http://127.0.0.1:9/v1/logs", [])
    with caplog.at_level(logging.WARNING, logger="collector.logs.otel_sink"):
        sink.shutdown(timeout_s=0.3)
    assert caplog.text == ""
