"""Alarm changes reach a running Prometheus and Alertmanager: compiled, checked, written,
reloaded by SIGHUP and confirmed; a refused change leaves both as they were."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.loader import AlarmSet
from alerts.publish import rule_texts
from alerts.store import Actor
from borealis import alarm_reload
from borealis.alarm_reload import StackPublisher, stack_alarm_store
from core.errors import ConfigError
from core.trail import Caller
from tests.integration.alarmstack import AlarmStack, start_alarm_stack

ME = Actor(Caller.from_uid(os.getuid()), "borealis-cli")

ALARM = """\
MetricAlarms:
  - AlarmName: {name}
    Namespace: AWS/RDS
    MetricName: CPUUtilization
    Dimensions: [{{Name: DBInstanceIdentifier, Value: "*"}}]
    Statistic: Average
    Period: 60
    EvaluationPeriods: 2
    Threshold: 75
    ComparisonOperator: GreaterThanThreshold
    AlarmActions: [arn:aws:sns:us-east-1:123456789012:{receiver}]
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlarmStack]:
    yield from start_alarm_stack(tmp_path_factory.mktemp("alarmstack"))


def test_an_applied_alarm_is_a_rule_group_and_its_receiver_a_route(
    stack: AlarmStack, tmp_path: Path
) -> None:
    publisher = StackPublisher(stack.settings)
    store = stack_alarm_store(stack.settings, publisher)
    store.apply_text(ALARM.format(name="reload-cpu", receiver="pager"), "cpu.yml", ME)
    assert publisher.reloaded == ["prometheus", "alertmanager"]
    # Confirmed before apply returned: no waiting here.
    assert "reload-cpu" in stack.alarm_rules()
    assert "borealis-cloudwatch" in stack.rule_groups()  # the recordings stay
    assert {"pager", "pager/ok"} <= stack.am_receivers()

    store.delete(["reload-cpu"], ME)
    assert "reload-cpu" not in stack.alarm_rules()
    assert "pager" not in stack.am_receivers()


def test_a_refused_change_leaves_the_running_stack_alone(stack: AlarmStack) -> None:
    store = stack_alarm_store(stack.settings)
    store.apply_text(ALARM.format(name="reload-kept", receiver="kept"), "kept.yml", ME)
    rules, receivers = stack.rules(), stack.am_receivers()
    rule_dir = stack.state_dir / "prometheus" / "rules"
    files = {p.name: p.read_text() for p in rule_dir.glob("*.yml")}
    bad = ALARM.format(name="reload-bad", receiver="bad").replace("CPUUtilization", "NoSuch")
    with pytest.raises(ConfigError, match=r"^bad\.yml:\d+: reload-bad: .*NoSuch"):
        store.apply_text(bad, "bad.yml", ME)
    assert {p.name: p.read_text() for p in rule_dir.glob("*.yml")} == files
    assert stack.rules() == rules and stack.am_receivers() == receivers
    store.delete(["reload-kept"], ME)


def test_rules_promtool_refuses_change_nothing(
    stack: AlarmStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule file promtool refuses (here: a broken recording beside the alarms) is never
    swapped in; the stack keeps what it had."""
    store = stack_alarm_store(stack.settings)
    before = stack.rules()
    rule_dir = stack.state_dir / "prometheus" / "rules"
    files = {p.name: p.read_text() for p in rule_dir.glob("*.yml")}

    def broken(alarms: AlarmSet) -> dict[str, str]:
        texts = rule_texts(alarms)
        texts["broken.yml"] = "groups:\n- name: x\n  rules:\n  - record: bad\n    expr: sum(\n"
        return texts

    monkeypatch.setattr(alarm_reload, "rule_texts", broken)
    with pytest.raises(ConfigError, match="rules refused by promtool"):
        store.apply_text(ALARM.format(name="never", receiver="never"), "never.yml", ME)
    assert {p.name: p.read_text() for p in rule_dir.glob("*.yml")} == files
    assert stack.rules() == before
    assert "never" not in {a.AlarmName for a in store.user_alarms()}


def test_prometheus_has_no_lifecycle_api(stack: AlarmStack) -> None:
    """Any local user could POST /-/quit with --web.enable-lifecycle: it is off."""
    request = urllib.request.Request(stack.url("prometheus") + "/-/quit", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    refused.value.close()  # its unread body holds the socket: closed here, not by the GC
    assert refused.value.code == 403
    assert stack.rule_groups()  # still serving
