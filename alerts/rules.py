"""Alarm definitions to one Prometheus rule file: one group per evaluation interval holding
every metric alarm evaluated at it (each alarm's rules in order: its datapoint, its count,
its state, its alerts), then one group for the composites in dependency order. Every alert
carries ``severity``, ``summary``, ``description`` and ``runbook``, the dimension labels, and
``borealis_receivers`` for Alertmanager's routes.

Why shared groups: Prometheus pays a fixed price to start each group's evaluation, more
than a small rule costs, so one group per alarm cost the pack about as much as its rules
(docs/benchmarks.md, "Alarms"). An alarm keeps its own rules; a change to one alarm reloads
its group, and Prometheus carries the group's state over."""

from __future__ import annotations

from collections.abc import Sequence

from alerts.compile import (
    ALARM,
    INSUFFICIENT_DATA,
    OPERATORS,
    STATE,
    CompiledAlarm,
    Rule,
    alarm_target,
    compile_metric_alarm,
    group_interval_s,
)
from alerts.composite import evaluation_order, parse_rule, to_promql
from alerts.datapoints import number, promql_string
from alerts.model import AlarmBase, CompositeAlarm, MetricAlarm

RECEIVERS_LABEL = "borealis_receivers"
OK_SUFFIX = "/ok"  # the variant of a receiver that also gets the OK (resolved) notification
NAMES = {
    "dimension_DBInstanceIdentifier": "instance",
    "dimension_DBClusterIdentifier": "cluster",
    "dimension_Role": "role",
}


def receivers_label(alarm: AlarmBase, state: str) -> str:
    """`,a/ok,b,`: who is told when the alarm enters `state`; `/ok` marks a receiver that is
    also an OK action (it gets the resolved notification too). A receiver that is only an
    OK action gets the ALARM notification as well: Alertmanager resolves what it sent."""
    ok = alarm.receivers("OK")
    if state == "ALARM":
        names = list(dict.fromkeys((*alarm.receivers("ALARM"), *ok)))
    else:
        names = list(alarm.receivers("INSUFFICIENT_DATA"))
    variants = [f"{r}{OK_SUFFIX}" if r in ok else r for r in names]
    return "," + ",".join(variants) + "," if variants else ""


def condition_text(alarm: MetricAlarm) -> str:
    n, m, period = alarm.EvaluationPeriods, alarm.datapoints_to_alarm, alarm.period_s
    stat_spec = alarm.metric_stat
    if stat_spec is not None:
        metric, stat = stat_spec.Metric.MetricName, stat_spec.Stat
    else:
        metric, stat = alarm.MetricName or "", alarm.ExtendedStatistic or str(alarm.Statistic)
    if alarm.ComparisonOperator in OPERATORS:
        compare = f"{OPERATORS[alarm.ComparisonOperator]} {number(alarm.Threshold or 0)}"
    else:
        compare = f"{alarm.ComparisonOperator} of its anomaly band"
    return (
        f"{metric} {stat} {compare} for {m} of {n} datapoints of {period} s "
        f"(missing data: {alarm.TreatMissingData})"
    )


def where_text(group: Sequence[str]) -> str:
    parts = [f"{NAMES[label]} {{{{ $labels.{label} }}}}" for label in group if label in NAMES]
    return f" on {', '.join(parts)}" if parts else ""


def labelled(expr: str, labels: dict[str, str]) -> str:
    """`expr` with `labels` set on its result by label_replace. As rule labels they would be
    expanded as templates for every firing series at every evaluation (Prometheus expands
    each label and annotation of an alerting rule so), a large part of what a firing
    alarm's alert rule costs; label_replace on an empty result costs nothing."""
    for name, value in labels.items():
        replacement = promql_string(value.replace("$", "$$"))
        expr = f'label_replace({expr}, "{name}", {replacement}, "", "")'
    return expr


def alert_rule(
    alarm: AlarmBase, state: int, state_name: str, summary: str, description: str
) -> Rule:
    labels = {"severity": str(alarm.severity)}
    receivers = receivers_label(alarm, state_name)
    if receivers:
        labels[RECEIVERS_LABEL] = receivers
    annotations = {
        "summary": summary,
        "description": description,
        "runbook": alarm.runbook or "No runbook given for this alarm.",
    }
    firing = f"{STATE}{{alarm_name={promql_string(alarm.AlarmName)}}} == {state}"
    return {
        "alert": alarm.AlarmName,
        "expr": labelled(firing, labels),
        "for": "0s",
        # The one rule label: an alarm's ALARM and INSUFFICIENT_DATA alerts are two rules
        # of one name, which promtool tells apart by their labels.
        "labels": {"alarm_state": state_name},
        "annotations": annotations,
    }


def metric_alarm_rules(alarm: MetricAlarm) -> list[Rule]:
    compiled: CompiledAlarm = compile_metric_alarm(alarm)
    condition = condition_text(alarm)
    where = where_text(compiled.target.group)
    description = alarm.AlarmDescription or condition
    rules: list[Rule] = [
        *compiled.rules,
        alert_rule(alarm, ALARM, "ALARM", f"{alarm.AlarmName}{where}: {condition}", description),
    ]
    if alarm.receivers("INSUFFICIENT_DATA"):
        summary = f"{alarm.AlarmName}{where}: not enough data to evaluate {condition}"
        rules.append(
            alert_rule(alarm, INSUFFICIENT_DATA, "INSUFFICIENT_DATA", summary, description)
        )
    return rules


def metric_alarm_groups(alarms: Sequence[MetricAlarm]) -> list[dict[str, object]]:
    """A group per evaluation interval, shortest first, its alarms by name."""
    by_interval: dict[int, list[Rule]] = {}
    for alarm in sorted(alarms, key=lambda a: a.AlarmName):
        interval = group_interval_s(alarm.period_s)
        by_interval.setdefault(interval, []).extend(metric_alarm_rules(alarm))
    return [
        {"name": group_name(interval), "interval": f"{interval}s", "rules": rules}
        for interval, rules in sorted(by_interval.items())
    ]


def group_name(interval_s: int) -> str:
    return f"alarm:every-{interval_s}s"


def composite_group(composites: Sequence[CompositeAlarm]) -> dict[str, object]:
    parsed = {c.AlarmName: parse_rule(c.AlarmRule) for c in composites}
    by_name = {c.AlarmName: c for c in composites}
    rules: list[Rule] = []
    for name in evaluation_order(parsed):
        composite = by_name[name]
        rules.append(
            {
                "record": STATE,
                "expr": f"{ALARM} * {to_promql(parsed[name])}",
                "labels": {"alarm_name": name},
            }
        )
        summary = f"{name}: {composite.AlarmRule}"
        rules.append(
            alert_rule(composite, ALARM, "ALARM", summary, composite.AlarmDescription or summary)
        )
    return {"name": "alarm:composites", "rules": rules}


def rule_file(
    metric_alarms: Sequence[MetricAlarm], composites: Sequence[CompositeAlarm]
) -> dict[str, object]:
    for alarm in metric_alarms:
        alarm_target(alarm)  # refuses unknown metrics before anything is written
    groups = metric_alarm_groups(metric_alarms)
    if composites:
        groups.append(composite_group(composites))
    return {"groups": groups}
