"""The user alarm store: a readable file beside the pack, validated as the loader validates,
pack alarms read-only, nothing written when validation or publishing refuses, history and
trail for every change."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from alerts.loader import AlarmSet, load_files
from alerts.store import Actor, AlarmNotFound, AlarmStore
from core.errors import BorealisError, ConfigError
from core.trail import Caller, TrailStore

ME = Actor(Caller.from_uid(os.getuid()), "borealis-cli")

CPU = """\
MetricAlarms:
  - AlarmName: cpu-high
    Namespace: AWS/RDS
    MetricName: CPUUtilization
    Dimensions: [{Name: DBInstanceIdentifier, Value: "*"}]
    Statistic: Average
    Period: 60
    EvaluationPeriods: 3
    Threshold: 90
    ComparisonOperator: GreaterThanThreshold
    AlarmActions: [oncall]
"""

COMPOSITE = """\
CompositeAlarms:
  - AlarmName: cpu-and-failover
    AlarmRule: ALARM(cpu-high) AND ALARM(BorealisWriterFailover)
"""


def store(tmp_path: Path, **kwargs: object) -> AlarmStore:
    return AlarmStore(tmp_path, trail=TrailStore(tmp_path / "trail.db"), **kwargs)  # type: ignore[arg-type]


def test_applied_alarms_land_in_a_file_the_loader_reads(tmp_path: Path) -> None:
    alarms = store(tmp_path)
    change = alarms.apply_text(CPU, "cpu.yml", ME)
    assert [a.AlarmName for a in change.created] == ["cpu-high"]
    # The user file is in the pack's format: the loader reads it alone.
    alone = load_files([alarms.path])
    assert [a.AlarmName for a in alone.metric_alarms] == ["cpu-high"]
    assert alone.metric_alarms[0].AlarmActions == ["oncall"]
    every = alarms.alarms()
    assert "cpu-high" in every.names and "BorealisWriterFailover" in every.names
    assert alarms.origin("cpu-high") == str(alarms.path)
    assert alarms.origin("BorealisWriterFailover") == "alerts/alarms/availability.yml"


def test_a_bad_file_names_its_line_and_changes_nothing(tmp_path: Path) -> None:
    alarms = store(tmp_path)
    alarms.apply_text(CPU, "cpu.yml", ME)
    before = alarms.path.read_text()
    bad = CPU.replace("cpu-high", "other").replace("EvaluationPeriods: 3", "EvaluationPeriods: 0")
    with pytest.raises(ConfigError, match=r"^bad\.yml:8: .*EvaluationPeriods"):
        alarms.apply_text(bad, "bad.yml", ME)
    assert alarms.path.read_text() == before
    assert [a.AlarmName for a in alarms.user_alarms()] == ["cpu-high"]


def test_pack_alarms_are_read_only(tmp_path: Path) -> None:
    alarms = store(tmp_path)
    clash = CPU.replace("cpu-high", "AuroraDeadlocks")
    with pytest.raises(ConfigError, match=r"defined in alerts/alarms/activity\.yml"):
        alarms.apply_text(clash, "mine.yml", ME)
    with pytest.raises(ConfigError, match=r"^mine\.yml:2: "):
        alarms.apply_text(clash, "mine.yml", ME)
    with pytest.raises(ConfigError, match=r"AuroraDeadlocks is defined in alerts/alarms/activity"):
        alarms.delete(["AuroraDeadlocks"], ME)
    assert not alarms.path.exists()


def test_composites_may_name_pack_alarms_and_deleting_what_one_needs_is_refused(
    tmp_path: Path,
) -> None:
    alarms = store(tmp_path)
    alarms.apply_text(CPU, "cpu.yml", ME)
    alarms.apply_text(COMPOSITE, "composite.yml", ME)
    with pytest.raises(ConfigError, match="unknown alarms: cpu-high"):
        alarms.delete(["cpu-high"], ME)
    assert {a.AlarmName for a in alarms.user_alarms()} == {"cpu-high", "cpu-and-failover"}
    change = alarms.delete(["cpu-and-failover", "cpu-high"], ME)
    assert {a.AlarmName for a in change.deleted} == {"cpu-high", "cpu-and-failover"}
    assert alarms.user_alarms() == []


def test_deleting_an_unknown_alarm_deletes_nothing(tmp_path: Path) -> None:
    alarms = store(tmp_path)
    alarms.apply_text(CPU, "cpu.yml", ME)
    with pytest.raises(AlarmNotFound) as refused:
        alarms.delete(["cpu-high", "nope"], ME)
    assert refused.value.names == ["nope"]
    assert [a.AlarmName for a in alarms.user_alarms()] == ["cpu-high"]


def test_a_refusing_publisher_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    published: list[AlarmSet] = []

    def publish(alarms: AlarmSet) -> None:
        published.append(alarms)
        if "other" in alarms.names:
            raise BorealisError("Prometheus refused the rules")

    alarms = store(tmp_path, publish=publish)
    alarms.apply_text(CPU, "cpu.yml", ME)
    assert "cpu-high" in published[-1].names
    before = alarms.path.read_text()
    with pytest.raises(BorealisError, match="refused"):
        alarms.apply_text(CPU.replace("cpu-high", "other"), "other.yml", ME)
    assert alarms.path.read_text() == before


def test_history_and_trail_record_each_change(tmp_path: Path) -> None:
    alarms = store(tmp_path)
    alarms.apply_text(CPU, "cpu.yml", ME)
    alarms.apply_text(CPU.replace("Threshold: 90", "Threshold: 80"), "cpu.yml", ME)
    alarms.delete(["cpu-high"], ME)
    with pytest.raises(ConfigError):
        alarms.delete(["AuroraDeadlocks"], ME)
    items = alarms.history("cpu-high")
    assert [i["HistorySummary"] for i in items] == [
        'Alarm "cpu-high" created',
        'Alarm "cpu-high" updated',
        'Alarm "cpu-high" deleted',
    ]
    update = json.loads(items[1]["HistoryData"])
    assert update["originalAlarm"]["Threshold"] == 90
    assert update["updatedAlarm"]["Threshold"] == 80
    records = TrailStore(tmp_path / "trail.db").records()
    assert [(r["eventName"], r.get("errorCode")) for r in records] == [
        ("PutMetricAlarm", None),
        ("PutMetricAlarm", None),
        ("DeleteAlarms", None),
        ("DeleteAlarms", "ValidationError"),
    ]
    assert all(r["userAgent"] == "borealis-cli" for r in records)
    assert records[0]["eventSource"] == "monitoring.amazonaws.com"
    assert records[0]["requestParameters"]["file"] == "cpu.yml"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    def put(index: int) -> None:
        store(tmp_path).apply_text(CPU.replace("cpu-high", f"cpu-{index}"), f"{index}.yml", ME)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.AlarmName for a in store(tmp_path).user_alarms()} == {f"cpu-{i}" for i in range(6)}
