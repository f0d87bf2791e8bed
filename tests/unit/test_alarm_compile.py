"""From an alarm's metric and dimensions to the series it reads (the PromQL is exercised by
promtool in alerts/tests/; these are the choices and refusals before it)."""

from __future__ import annotations

import pytest

from alerts.datapoints import datapoint, number, resolve
from alerts.loader import load_pack
from alerts.model import Dimension
from alerts.rules import group_interval_s, rule_file


def dims(**pairs: str) -> list[Dimension]:
    return [Dimension(Name=name, Value=value) for name, value in pairs.items()]


def test_an_instance_alarm_reads_the_instance_samples() -> None:
    target = resolve("AWS/RDS", "CPUUtilization", dims(DBInstanceIdentifier="db1"))
    assert target.source.sample == "instance:aws_rds_cpuutilization:10s"
    assert target.group == ("dimension_DBInstanceIdentifier", "dimension_DBClusterIdentifier")
    assert 'dimension_DBInstanceIdentifier="db1"' in target.selector
    assert not target.wildcard


def test_a_role_aggregate_combines_instances_by_the_statistic() -> None:
    target = resolve("AWS/RDS", "CPUUtilization", dims(DBClusterIdentifier="c1", Role="READER"))
    assert target.role_aggregate
    assert datapoint(target, "Average", 60).startswith(
        "avg by (dimension_DBClusterIdentifier, dimension_Role) (avg_over_time("
    )
    assert datapoint(target, "Maximum", 300).startswith("max by (")
    assert "quantile_over_time(0.999," in datapoint(target, "p99.9", 60)


def test_a_period_is_start_inclusive_end_exclusive() -> None:
    target = resolve("AWS/RDS", "CPUUtilization", dims(DBInstanceIdentifier="*"))
    assert "[59999ms] offset 1ms" in datapoint(target, "Average", 60)
    assert target.wildcard
    assert 'dimension_DBInstanceIdentifier=~".+"' in target.selector


def test_cluster_and_borealis_metrics() -> None:
    lag = resolve("AWS/RDS", "AuroraReplicaLagMaximum", dims(DBClusterIdentifier="c1"))
    assert lag.source.sample == "cluster:aws_rds_aurora_replica_lag_maximum:10s"
    up = resolve("Borealis", "CollectorUp", [])
    assert up.group == ()
    assert up.source.high_resolution


@pytest.mark.parametrize(
    ("namespace", "metric", "dimensions", "reason"),
    [
        ("AWS/EC2", "CPUUtilization", dims(InstanceId="i-1"), "Namespace 'AWS/EC2'"),
        ("AWS/RDS", "CPUUtilisation", dims(DBInstanceIdentifier="db1"), "no metric"),
        ("AWS/RDS", "VolumeBytesUsed", dims(DBInstanceIdentifier="db1"), "no metric"),
        ("AWS/RDS", "CPUUtilization", dims(Role="WRITER"), "Dimensions must be"),
        ("AWS/RDS", "CPUUtilization", dims(DBClusterIdentifier="c", Role="PRIMARY"), "Role"),
        ("AWS/RDS", "CPUUtilization", dims(EngineName="aurora-postgresql"), "dimension"),
    ],
)
def test_unknown_metrics_and_dimension_sets_are_refused(
    namespace: str, metric: str, dimensions: list[Dimension], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        resolve(namespace, metric, dimensions)


def test_numbers_keep_their_precision() -> None:
    assert number(1073741824) == "1073741824"
    assert number(0.02) == "0.02"
    assert number(1e20) == "1e+20"


def test_each_alarm_group_runs_every_fifth_of_its_period_at_most_every_10_s() -> None:
    pack = load_pack()
    groups = {
        str(g["name"]): str(g.get("interval"))
        for g in rule_file(pack.metric_alarms, pack.composites)["groups"]  # type: ignore[union-attr]
    }
    periods = {a.AlarmName: a.period_s for a in pack.metric_alarms}
    assert {periods[name] for name in periods} == {10, 60}
    for name, period in periods.items():
        assert groups[f"alarm:{name}"] == ("2s" if period == 10 else "10s"), name
    assert [group_interval_s(p) for p in (10, 20, 30, 60, 300)] == [2, 4, 6, 10, 10]
