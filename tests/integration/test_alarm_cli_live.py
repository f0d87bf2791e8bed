"""`borealis alarms apply/delete` against a running Prometheus and Alertmanager (a child
process, as a user runs it): the change is reloaded and confirmed before the command says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import borealis
from tests.integration.alarmstack import PORT_BASE, AlarmStack, start_alarm_stack

ALARM = """\
MetricAlarms:
  - AlarmName: cli-live
    Namespace: AWS/RDS
    MetricName: FreeableMemory
    Dimensions: [{Name: DBInstanceIdentifier, Value: "*"}]
    Statistic: Minimum
    Period: 60
    EvaluationPeriods: 1
    Threshold: 100000000
    ComparisonOperator: LessThanThreshold
    AlarmActions: [dba]
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlarmStack]:
    yield from start_alarm_stack(tmp_path_factory.mktemp("alarmcli"))


def cli(stack: AlarmStack, *args: str) -> tuple[int, str, str]:
    done = borealis(
        "alarms",
        *args,
        "--state-dir",
        str(stack.state_dir),
        env={"BOREALIS_PORTS__BASE": str(PORT_BASE)},
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_apply_and_delete_reload_the_running_stack(stack: AlarmStack, tmp_path: Path) -> None:
    path = tmp_path / "memory.yml"
    path.write_text(ALARM)
    code, out, err = cli(stack, "apply", str(path))
    assert code == 0, err
    assert out.strip().endswith("reloaded prometheus and alertmanager.")
    assert "cli-live" in stack.alarm_rules()
    assert "dba" in stack.am_receivers()

    code, out, err = cli(stack, "list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("cli-live "))
    assert "UNKNOWN" not in row  # the stack is up: a state from Prometheus

    path.write_text(ALARM.replace("Threshold: 100000000", "Threshold: oops"))
    code, out, err = cli(stack, "apply", str(path))
    assert code == 1 and out == ""
    assert err.startswith(f"borealis alarms: {path}:")
    assert "cli-live" in stack.alarm_rules()

    code, out, err = cli(stack, "delete", "cli-live")
    assert code == 0, err
    assert "reloaded prometheus and alertmanager" in out
    assert "cli-live" not in stack.alarm_rules()
    assert "dba" not in stack.am_receivers()
