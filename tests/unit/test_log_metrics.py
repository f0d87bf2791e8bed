"""The log counters as a scrape shows them: bounded labels, always-present severities."""

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.logs.counters import LogCollector
from collector.logs.follow import LogFollower
from collector.logs.tailer import LogTailer
from collector.targets import Target
from tests.unit.logfixtures import pg15_lines


class Role:
    role = "writer"


def scrape(tmp_path: Path, *lines: bytes) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    log = tmp_path / "log"
    log.mkdir()
    path = log / "postgresql-20261127.json"
    path.touch()
    target = Target("demo", "demo-instance-1", "host=x", az="local-1a")
    tailer = LogTailer(target, LogFollower(log, tmp_path / "pos.json"))
    tailer.tick()
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    tailer.tick()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LogCollector([tailer], {"demo-instance-1": Role()}))
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            key = tuple(
                sorted(
                    (k, v)
                    for k, v in sample.labels.items()
                    if k not in ("cluster", "db_instance", "role", "az")
                )
            )
            out.setdefault(sample.name, {})[key] = sample.value
    return out


def test_scrape_shows_log_counters(tmp_path: Path) -> None:
    got = scrape(tmp_path, *pg15_lines(), b"{broken")
    assert got["borealis_connections_received_total"] == {(): 9}
    assert got["borealis_disconnections_total"] == {(): 5}
    assert got["borealis_log_malformed_lines_total"] == {(): 1}
    assert got["borealis_authentication_failures_total"] == {
        (("reason", "other"),): 0,
        (("reason", "password"),): 1,
        (("reason", "pg_hba"),): 1,
        (("reason", "unknown_role"),): 1,
    }
    audit = got["borealis_audit_records_total"]
    assert audit[(("class", "DDL"), ("command", "CREATE TABLE"))] == 1
    assert audit[(("class", "ROLE"), ("command", "ALTER ROLE"))] == 1
    lines = got["borealis_log_lines_total"]
    assert lines[(("severity", "PANIC"),)] == 0  # present from the start, so increase() works
    assert lines[(("severity", "FATAL"),)] == 4
    assert got["borealis_log_tail_success"] == {(): 1}
    assert got["borealis_log_errors_total"][(("severity", "FATAL"), ("sqlstate_class", "28"))] == 3


def test_label_values_never_carry_text_from_the_log(tmp_path: Path) -> None:
    got = scrape(tmp_path, *pg15_lines())
    values = {v for samples in got.values() for key in samples for _, v in key}
    assert all(len(v) <= 48 for v in values)
    assert not any("alice" in v or "select" in v.lower() for v in values)
