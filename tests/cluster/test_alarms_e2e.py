"""Issue 10 end to end on the real stack: each drill (testsupport/alarm_drills.py) injects a
fault, sees the matching alarm active in Alertmanager, its notification delivered to the
Borealis webhook, and its OK in the webhook's alarm history once the fault is undone.

Paused replay is drilled with an alarm created through boto3 (PutMetricAlarm on the paused
reader's AuroraReplicaLag, 10 s periods): it goes through the same compile, evaluation and
delivery as the pack's alarms, and resolves in about a minute where the pack's
AuroraReplicaLagHigh (2 of 3 one-minute datapoints, both ways) needs five; that one is timed
by `python -m bench.alerts`, its semantics proven by promtool in alerts/tests/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from tests.cluster.helpers import endpoint_dsn, fault, healthy
from tests.conftest import Stack, cloudwatch_client
from testsupport.alarm_drills import Drill, drills, run_drill

pytestmark = pytest.mark.cluster


class View:
    """The shared stack as the drills see it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def status(self) -> dict[str, Any]:
        return self.stack.status()

    def fault(self, *args: str) -> None:
        fault(self.stack, *args)

    def dsn(self, endpoint: str, password: str | None = None) -> str:
        dsn = endpoint_dsn(self.stack, endpoint)
        return dsn if password is None else make_conninfo(dsn, password=password)


def drill_for(stack: Stack, alarm: str) -> tuple[View, Drill]:
    healthy(stack)
    view = View(stack)
    return view, next(d for d in drills(view) if d.alarm == alarm)


@pytest.mark.parametrize(
    "alarm",
    [
        "BorealisAuthenticationFailureStorm",  # a burst of wrong passwords
        "BorealisStorageQuorumLost",  # lose an AZ plus one segment
        "BorealisWriterFailover",  # kill the writer
    ],
)
@pytest.mark.timeout(600)
def test_a_fault_fires_its_alarm_delivers_it_and_resolves(stack: Stack, alarm: str) -> None:
    view, drill = drill_for(stack, alarm)
    check(run_drill(view, drill), alarm)
    healthy(stack)


BOTO_ALARM = "E2EReaderReplicaLag"


@pytest.fixture
def cloudwatch(stack: Stack) -> Iterator[Any]:
    client = cloudwatch_client(stack.status()["services"]["cloudwatch"], "x")
    yield client
    client.delete_alarms(AlarmNames=[BOTO_ALARM])


@pytest.mark.timeout(600)
def test_a_boto3_alarm_on_paused_replay_fires_delivers_and_resolves(
    stack: Stack, cloudwatch: Any
) -> None:
    view, pause = drill_for(stack, "AuroraReplicaLagHigh")
    reader = pause.instance
    cloudwatch.put_metric_alarm(
        AlarmName=BOTO_ALARM,
        AlarmDescription="Paused replay on one reader, created through boto3.",
        Namespace="AWS/RDS",
        MetricName="AuroraReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": reader}],
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=5000,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="missing",
    )
    drill = replace(
        pause,
        alarm=BOTO_ALARM,
        labels={"dimension_DBInstanceIdentifier": reader},
        fire_within_s=120,
        resolve_within_s=120,
    )
    check(run_drill(view, drill), BOTO_ALARM)
    healthy(stack)


def check(timing: Any, alarm: str) -> None:
    print(timing)
    assert timing.alarm == alarm
    # Alertmanager's startsAt is Prometheus' firing moment: after the fault, before delivery.
    assert timing.fault_to_firing_s > 0
    assert timing.firing_to_delivery_s >= 0
