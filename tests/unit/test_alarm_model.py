"""Alarm files: CloudWatch's validation rules, errors with file and line, nothing applied
from a bad set; the composite rule parser."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from alerts.composite import (
    BinaryOp,
    Not,
    RuleSyntaxError,
    StateOf,
    evaluation_order,
    parse_rule,
)
from alerts.generate import FILES
from alerts.loader import load_pack, load_texts
from alerts.model import MetricAlarm, receiver_name
from alerts.rules import rule_file
from core.errors import ConfigError

BASE: dict[str, Any] = {
    "AlarmName": "cpu",
    "Namespace": "AWS/RDS",
    "MetricName": "CPUUtilization",
    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "db1"}],
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 3,
    "Threshold": 90,
    "ComparisonOperator": "GreaterThanThreshold",
}

GOOD = """\
MetricAlarms:
  - AlarmName: cpu
    Namespace: AWS/RDS
    MetricName: CPUUtilization
    Dimensions: [{Name: DBInstanceIdentifier, Value: db1}]
    Statistic: Average
    Period: 60
    EvaluationPeriods: 3
    Threshold: 90
    ComparisonOperator: GreaterThanThreshold
"""


def alarm(**changes: Any) -> MetricAlarm:
    fields = {**BASE, **changes}
    return MetricAlarm.model_validate({k: v for k, v in fields.items() if v is not None})


def test_a_valid_alarm_has_cloudwatch_defaults() -> None:
    a = alarm()
    assert a.datapoints_to_alarm == 3  # DatapointsToAlarm defaults to EvaluationPeriods
    assert a.TreatMissingData == "missing"
    assert a.ActionsEnabled


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"AlarmName": "x" * 256}, "at most 255"),
        ({"AlarmName": "caf\u00e9"}, "ASCII"),
        ({"Period": 45}, "Period must be 10, 20, 30 or a multiple of 60"),
        ({"Period": 90}, "Period must be 10, 20, 30 or a multiple of 60"),
        ({"DatapointsToAlarm": 4}, "DatapointsToAlarm must not exceed EvaluationPeriods"),
        ({"ExtendedStatistic": "p90"}, "exactly one of Statistic and ExtendedStatistic"),
        ({"Statistic": None}, "exactly one of Statistic and ExtendedStatistic"),
        ({"Statistic": None, "ExtendedStatistic": "p101"}, "p0 .. p100"),
        ({"Statistic": None, "ExtendedStatistic": "tm90"}, "not supported"),
        ({"Statistic": "Median"}, "Statistic"),
        ({"Threshold": None}, "needs a Threshold"),
        ({"ComparisonOperator": "GreaterThan"}, "ComparisonOperator"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "needs ThresholdMetricId"),
        ({"TreatMissingData": "zero"}, "TreatMissingData"),
        ({"EvaluationPeriods": 0}, "EvaluationPeriods"),
        ({"EvaluationPeriods": 1441}, "must not exceed one day"),
        ({"AlarmActions": ["arn:aws:automate:us-east-1:ec2:stop"]}, "neither an SNS topic ARN"),
        ({"AlarmActions": ["a", "b", "c", "d", "e", "f"]}, "at most 5"),
        ({"Unit": "Furlongs"}, "Unit"),
        ({"Colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_cloudwatch_validation_rules(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        alarm(**changes)


def test_high_resolution_periods_are_accepted() -> None:
    for period in (10, 20, 30, 60, 300):
        assert alarm(Period=period).period_s == period


def test_actions_name_receivers_by_sns_arn_or_bare_name() -> None:
    assert receiver_name("arn:aws:sns:eu-west-1:123456789012:oncall") == "oncall"
    assert receiver_name("oncall") == "oncall"
    a = alarm(AlarmActions=["arn:aws:sns:eu-west-1:123456789012:oncall", "oncall", "team-b"])
    assert a.receivers("ALARM") == ("oncall", "team-b")
    assert alarm(AlarmActions=["oncall"], ActionsEnabled=False).receivers("ALARM") == ()


def test_a_good_file_loads() -> None:
    alarms = load_texts([("good.yml", GOOD)])
    assert [a.AlarmName for a in alarms.metric_alarms] == ["cpu"]


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (("Period: 60", "Period: 45"), 7, "Period must be 10, 20, 30"),
        (("Statistic: Average", "Statistic: Mean"), 6, "MetricAlarms.0.Statistic"),
        (("MetricName: CPUUtilization", "MetricName: CPUUtilisation"), 2, "no metric"),
        (("Value: db1", "Value: db1}, {Name: Colour, Value: red"), 2, "dimension 'Colour'"),
        (("Threshold: 90", "Treshold: 90"), 9, "Treshold: Extra inputs are not permitted"),
        (("    Dimensions:", "   Dimensions:"), 5, ""),  # YAML syntax
    ],
)
def test_a_bad_file_names_file_line_and_reason(
    edit: tuple[str, str], line: int, reason: str
) -> None:
    text = GOOD.replace(*edit)
    with pytest.raises(ConfigError) as caught:
        load_texts([("alarms/bad.yml", text)])
    message = str(caught.value)
    assert message.startswith(f"alarms/bad.yml:{line}:"), message
    assert reason in message
    assert "\n" not in message


def test_nothing_is_applied_from_a_set_with_one_bad_file() -> None:
    bad = GOOD.replace("AlarmName: cpu", "AlarmName: other").replace("Period: 60", "Period: 7")
    with pytest.raises(ConfigError, match=r"^bad\.yml:7:"):
        load_texts([("good.yml", GOOD), ("bad.yml", bad)])


def test_duplicate_names_across_files_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"b.yml:2: AlarmName 'cpu' is already defined at a.yml"):
        load_texts([("a.yml", GOOD), ("b.yml", GOOD)])


def composite(rule: str) -> str:
    return GOOD + textwrap.dedent(
        f"""\
        CompositeAlarms:
          - AlarmName: both
            AlarmRule: '{rule}'
        """
    )


def test_composites_refer_to_known_alarms_and_parse() -> None:
    load_texts([("c.yml", composite("ALARM(cpu) AND NOT OK(cpu)"))])
    with pytest.raises(ConfigError, match=r"c.yml:12: AlarmRule names unknown alarms: nope"):
        load_texts([("c.yml", composite("ALARM(cpu) OR ALARM(nope)"))])
    with pytest.raises(ConfigError, match=r"c.yml:12: AlarmRule: expected '\)'"):
        load_texts([("c.yml", composite("ALARM(cpu"))])


def test_rule_parser_precedence_and_names() -> None:
    node = parse_rule(
        'ALARM("a b") OR NOT OK(c) AND INSUFFICIENT_DATA('
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:d)"
    )
    assert node == BinaryOp(
        "OR",
        StateOf("ALARM", "a b"),
        BinaryOp("AND", Not(StateOf("OK", "c")), StateOf("INSUFFICIENT_DATA", "d")),
    )
    assert parse_rule("(ALARM(a) OR ALARM(b)) AND TRUE") == BinaryOp(
        "AND",
        BinaryOp("OR", StateOf("ALARM", "a"), StateOf("ALARM", "b")),
        parse_rule("TRUE"),
    )


@pytest.mark.parametrize("rule", ["ALARM(a", "ALARM a", "AND ALARM(a)", "ALARM(a) OR", "alarm(a)"])
def test_rule_parser_refuses_malformed_rules(rule: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse_rule(rule)


def test_composite_cycles_are_refused() -> None:
    rules = {"x": parse_rule("ALARM(y)"), "y": parse_rule("ALARM(x)")}
    with pytest.raises(ValueError, match="refer to each other"):
        evaluation_order(rules)
    assert evaluation_order({"x": parse_rule("ALARM(y)"), "y": parse_rule("ALARM(z)")}) == [
        "y",
        "x",
    ]


def test_the_default_pack_loads() -> None:
    load_pack()


def test_a_rule_across_fields_points_at_its_first_field() -> None:
    text = GOOD.replace("EvaluationPeriods: 3", "EvaluationPeriods: 3\n    DatapointsToAlarm: 5")
    with pytest.raises(ConfigError, match=r"^x.yml:9: .*DatapointsToAlarm must not exceed"):
        load_texts([("x.yml", text)])


def test_every_default_alert_has_for_severity_summary_description_runbook() -> None:
    groups = FILES["alarms.yml"]()["groups"]  # type: ignore[index]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    names = {a.AlarmName for a in load_pack().metric_alarms}
    assert {a["alert"] for a in alerts} == names
    assert len(names) >= 19
    for alert in alerts:
        assert alert["for"] == "0s"
        assert set(alert["labels"]) == {"alarm_state"}  # the others set in the expression
        assert re.search(r'"severity", "(critical|warning)", "", ""\)', alert["expr"])
        assert set(alert["annotations"]) == {"summary", "description", "runbook"}
        assert all(alert["annotations"].values())
        assert "No runbook" not in alert["annotations"]["runbook"]


def test_a_unit_other_than_the_metrics_is_refused() -> None:
    load_texts([("u.yml", GOOD.replace("Threshold: 90", "Threshold: 90\n    Unit: Percent"))])
    with pytest.raises(
        ConfigError, match=r"u.yml:2: cpu: Unit Seconds: CPUUtilization is .*Percent"
    ):
        load_texts([("u.yml", GOOD.replace("Threshold: 90", "Threshold: 90\n    Unit: Seconds"))])


def test_a_composite_cycle_names_its_file_and_line() -> None:
    text = GOOD + textwrap.dedent(
        """\
        CompositeAlarms:
          - AlarmName: x
            AlarmRule: ALARM(y) OR ALARM(cpu)
          - AlarmName: y
            AlarmRule: ALARM(x)
        """
    )
    with pytest.raises(ConfigError, match=r"^c\.yml:12: composite alarms refer to each other"):
        load_texts([("c.yml", text)])


def test_thresholds_reach_promql_unrounded() -> None:
    group = rule_file([alarm(Threshold=1073741824.5)], [])["groups"][0]  # type: ignore[index]
    state_inputs = " ".join(str(r["expr"]) for r in group["rules"])
    assert "> bool 1073741824.5" in state_inputs


def test_low_sample_count_percentiles_are_evaluated() -> None:
    assert alarm(EvaluateLowSampleCountPercentile="evaluate").EvaluateLowSampleCountPercentile
    with pytest.raises(ValueError, match="EvaluateLowSampleCountPercentile"):
        alarm(EvaluateLowSampleCountPercentile="ignore")
