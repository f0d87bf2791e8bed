"""`borealis alarms` without a running stack: validate and apply refuse a bad file with
file:line (exit 1, nothing applied), apply and delete store and say the stack is not
running, pack alarms stay read-only, and every change is a trail record of borealis-cli."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borealis.cli import main
from core.trail import TrailStore

GOOD = """\
MetricAlarms:
  - AlarmName: cli-lag
    Namespace: AWS/RDS
    MetricName: AuroraReplicaLag
    Dimensions: [{Name: DBInstanceIdentifier, Value: "*"}]
    Statistic: Maximum
    Period: 60
    EvaluationPeriods: 3
    DatapointsToAlarm: 2
    Threshold: 2000
    ComparisonOperator: GreaterThanThreshold
"""


@pytest.fixture(autouse=True)
def _settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite's own BOREALIS_TEST_* variables are not settings (main reads os.environ).
    monkeypatch.delenv("BOREALIS_TEST_PORT_BASE", raising=False)


def run(capsys: pytest.CaptureFixture[str], state: Path, *args: str) -> tuple[int, str, str]:
    code = main(["alarms", *args, "--state-dir", str(state)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bad_file_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(GOOD.replace("DatapointsToAlarm: 2", "DatapointsToAlarm: 4"))
    state = tmp_path / "state"
    for action in ("validate", "apply"):
        code, out, err = run(capsys, state, action, str(bad))
        assert code == 1 and out == ""
        assert err.strip() == (
            f"borealis alarms: {bad}:9: MetricAlarms.0: DatapointsToAlarm must not exceed "
            "EvaluationPeriods"
        )
    assert not (state / "alarms" / "user.yml").exists()


def test_apply_list_describe_delete_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "lag.yml"
    good.write_text(GOOD)
    state = tmp_path / "state"
    code, out, _ = run(capsys, state, "validate", str(good))
    assert (code, out.strip()) == (0, f"{good}: valid; would create cli-lag, update none")
    code, out, _ = run(capsys, state, "apply", str(good))
    assert code == 0
    assert "created cli-lag" in out and "the stack is not running" in out

    code, out, _ = run(capsys, state, "list", "--json")
    listed = {a["AlarmName"]: a for a in json.loads(out)["MetricAlarms"]}
    assert listed["cli-lag"]["DefinedIn"] == str(state / "alarms" / "user.yml")
    assert listed["AuroraDeadlocks"]["DefinedIn"] == "alerts/alarms/activity.yml"
    code, out, _ = run(capsys, state, "describe", "cli-lag")
    assert code == 0 and "DatapointsToAlarm: 2" in out
    code, _, err = run(capsys, state, "describe", "nope")
    assert code == 1 and err.strip() == "borealis alarms: no such alarm: nope"

    code, _, err = run(capsys, state, "delete", "AuroraDeadlocks")
    assert code == 1
    assert "defined in alerts/alarms/activity.yml: the default pack is read-only" in err
    code, out, _ = run(capsys, state, "delete", "cli-lag")
    assert code == 0 and out.startswith("deleted cli-lag;")

    code, out, _ = run(capsys, state, "history", "cli-lag")
    lines = out.splitlines()
    assert [line.split(None, 3)[3] for line in lines] == [
        'Alarm "cli-lag" created',
        'Alarm "cli-lag" deleted',
    ]
    records = TrailStore(state / "trail.db").records()
    assert [(r["eventName"], r.get("errorCode")) for r in records] == [
        ("PutMetricAlarm", None),
        ("DeleteAlarms", "ValidationError"),
        ("DeleteAlarms", None),
    ]
    assert {r["userAgent"] for r in records} == {"borealis-cli"}
