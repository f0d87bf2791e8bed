"""The generated rule files pass `promtool check rules`, and the CloudWatch semantics and the
default pack behave as `alerts/tests/*.test.yml` says, run by the real promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from alerts import generate
from alerts.loader import load_pack

PROMTOOL = "/usr/bin/promtool"
TESTS = Path(generate.__file__).parent / "tests"


def promtool() -> str:
    path = shutil.which(PROMTOOL)
    if path is None:
        pytest.fail(f"{PROMTOOL} is missing: install the Debian package 'prometheus'")
    return path


def test_generated_rule_files_pass_promtool_check() -> None:
    files = sorted(str(p) for p in generate.rule_files())
    result = subprocess.run(
        [promtool(), "check", "rules", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", sorted(p.name for p in TESTS.glob("*.test.yml")))
def test_promtool_rule_tests(test_file: str) -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", test_file],
        cwd=TESTS,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_semantic_has_a_test_file() -> None:
    names = {p.name for p in TESTS.glob("*.test.yml")}
    assert {
        "missing-data.test.yml",
        "semantics.test.yml",
        "anomaly-band.test.yml",
        "default-pack-minute.test.yml",
        "default-pack-seconds.test.yml",
    } <= names


def test_every_default_alarm_has_a_fault_and_a_healthy_case() -> None:
    text = "".join(p.read_text() for p in TESTS.glob("default-pack-*.test.yml"))
    for alarm in load_pack().metric_alarms:
        assert f"# {alarm.AlarmName}: healthy" in text, alarm.AlarmName
        assert f'{{alertname="{alarm.AlarmName}"}}' in text, alarm.AlarmName
