"""From an alarm's metric and dimensions to the series it reads (the PromQL is exercised by
promtool in alerts/tests/; these are the choices and refusals before it)."""

from __future__ import annotations

import pytest

from alerts.compile import DATAPOINT, STATE, compile_metric_alarm
from alerts.datapoints import datapoint, number, resolve
from alerts.loader import load_pack
from alerts.model import Dimension, MetricAlarm
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
    interval_of = {
        str(rule["alert"]): str(group.get("interval"))
        for group in rule_file(pack.metric_alarms, pack.composites)["groups"]  # type: ignore[union-attr]
        for rule in group["rules"]
        if "alert" in rule
    }
    periods = {a.AlarmName: a.period_s for a in pack.metric_alarms}
    assert {periods[name] for name in periods} == {10, 60}
    for name, period in periods.items():
        assert interval_of[name] == ("2s" if period == 10 else "10s"), name
    assert [group_interval_s(p) for p in (10, 20, 30, 60, 300)] == [2, 4, 6, 10, 10]


def recorded_datapoints(alarm: MetricAlarm) -> str:
    rules = compile_metric_alarm(alarm).rules
    (record,) = [r for r in rules if r.get("record") == DATAPOINT]
    return str(record["labels"]["alarm_name"])  # type: ignore[index]


def test_a_changed_definition_records_its_datapoints_afresh_and_a_new_text_does_not() -> None:
    alarm = next(a for a in load_pack().metric_alarms if a.AlarmName == "AuroraCPUUtilizationHigh")
    name = recorded_datapoints(alarm)
    assert name.startswith("AuroraCPUUtilizationHigh@")
    reworded = alarm.model_copy(update={"AlarmDescription": "new words", "runbook": "other"})
    assert recorded_datapoints(reworded) == name
    for changed in ({"Threshold": 95.0}, {"Period": 300}, {"Statistic": "Maximum"}):
        assert recorded_datapoints(alarm.model_copy(update=changed)) != name, changed


def test_each_period_ends_in_exactly_one_evaluation_of_its_group() -> None:
    # The datapoint rule looks back one interval less a millisecond for period boundaries.
    for period in (10, 20, 30, 60, 120, 300, 3600):
        interval = group_interval_s(period)
        assert period % interval == 0, period
        alarm = next(a for a in load_pack().metric_alarms if a.period_s == 60)
        rules = compile_metric_alarm(alarm.model_copy(update={"Period": period})).rules
        (record,) = [r for r in rules if r.get("record") == DATAPOINT]
        assert str(record["expr"]).endswith(f"[{interval * 1000 - 1}ms:{period}s])"), period


def test_an_alarms_rules_stay_together_and_in_order_in_its_shared_group() -> None:
    pack = load_pack()
    groups = rule_file(pack.metric_alarms, [])["groups"]
    assert [g["name"] for g in groups] == ["alarm:every-2s", "alarm:every-10s"]  # type: ignore[index]
    for group in groups:  # type: ignore[union-attr]
        owners = [
            str(rule.get("alert") or rule["labels"]["alarm_name"]).split("@")[0]
            for rule in group["rules"]
        ]
        # Each alarm's rules are one run: its datapoint, count and state, then its alert.
        runs = [name for i, name in enumerate(owners) if i == 0 or owners[i - 1] != name]
        assert len(runs) == len(set(runs)) == len(set(owners)), group["name"]
        for name in set(owners):
            kinds = [
                str(rule.get("record") or "alert")
                for rule, owner in zip(group["rules"], owners, strict=True)
                if owner == name
            ]
            assert kinds[0] == DATAPOINT and kinds[-1] == "alert" and STATE in kinds, name
