"""Configuration files fuzzed: alarm files (alerts.loader), the settings file
(core.settings.load_settings) and the targets file (collector.targets). Any YAML, valid files
mutated, and YAML's sharp corners (tags, aliases, huge numbers) give either a result or a
ConfigError that names the file and a line, never another exception."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from alerts.loader import AlarmSet, load_texts
from collector.targets import targets_from_file
from core.errors import ConfigError
from core.settings import load_settings
from tests.unit.fuzz import fuzz
from tests.unit.fuzz.requests import mutated

ALARMS = yaml.safe_load((Path(__file__).parents[3] / "alerts/alarms/activity.yml").read_text())
ALARMS["CompositeAlarms"] = [
    {"AlarmName": "Both", "AlarmRule": 'ALARM("AuroraDeadlocks") AND ALARM(AuroraDeadlocks)'}
]
SETTINGS = {
    "cluster_id": "fuzz",
    "readers": 2,
    "ports": {"base": 22900},
    "collector": {"sample_interval_s": 1.0, "logs": {"enabled": True, "event_burst": 5}},
    "retention": {"events_days": 7},
}
TARGETS = {
    "clusters": [
        {
            "id": "prod",
            "instances": [
                {
                    "id": "prod-1",
                    "dsn": "host=db1.example port=5432 user=monitor dbname=postgres",
                    "az": "us-east-1a",
                    "resource_id": "db-ABCDEFGHIJKL",
                    "log_dir": "logs/prod-1",
                }
            ],
        }
    ]
}
SHARP_YAML = st.sampled_from(
    [
        "",
        "~",
        "[]",
        "- a\n- b",
        "a: &x [*x]",
        "a: &a {b: *a}",
        "!!python/object:os.system {}",
        "!!binary aGVsbG8=",
        "a: !!float nan",
        "key: 1e999",
        "key: " + "9" * 5000,
        "{a: 1, a: 2}",
        "? [a, b]\n: c",
        "a: 2026-11-27",
        "\t- tab",
        "a: b: c",
        "%YAML 9.9\n---\na: 1",
        "--- a\n--- b",
        "a: '\\xff'",
        "\ufeffa: 1",
    ]
)


def texts(valid: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.one_of(
        mutated(valid).map(lambda v: yaml.safe_dump(v, sort_keys=False)),
        mutated(valid).map(lambda v: yaml.safe_dump(v, sort_keys=False)),
        SHARP_YAML,
        st.text(max_size=120),
        st.tuples(mutated(valid), SHARP_YAML).map(
            lambda p: yaml.safe_dump(p[0], sort_keys=False) + p[1]
        ),
    )


def assert_names_file_and_line(error: ConfigError, source: str) -> None:
    assert re.search(re.escape(source) + r":\d+", str(error)), str(error)
    assert "\n" not in str(error).strip()
    assert "Traceback" not in str(error)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@fuzz(150)
@given(texts(ALARMS))
@example("MetricAlarms: [{AlarmName: x, Period: 1e999}]")
@example("? '\n\n  '\n: null\n")  # bug: an error of two lines, the key's newline in it
@example("a: &x [*x]")  # bug: RecursionError
@example("a: \x1f")  # bug: yaml's ReaderError
@example("key: " + "9" * 5000)  # bug: ValueError from int()
@example(
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
)  # a billion laughs: refused, not expanded
def test_alarm_files_give_alarms_or_a_config_error_with_a_line(text: str) -> None:
    try:
        assert isinstance(load_texts([("fuzz.yml", text)]), AlarmSet)
    except ConfigError as exc:
        assert_names_file_and_line(exc, "fuzz.yml")


@fuzz(150)
@given(texts(SETTINGS))
@example("readers: 0\n")  # bug: checks across settings named no file or line
@example("cluster_id: 0\n")
@example("collector:\n  sample_interval_s: 0.01\n")
def test_settings_files_give_settings_or_a_config_error_with_a_line(
    scratch: Path, text: str
) -> None:
    path = scratch / "borealis.yaml"
    path.write_text(text, errors="surrogatepass")
    environ = {"BOREALIS_STATE_DIR": str(scratch / "state")}
    try:
        load_settings(path, environ=environ)
    except ConfigError as exc:
        assert_names_file_and_line(exc, str(path))


@fuzz(150)
@given(texts(TARGETS))
@example('clusters: [{id: a, instances: [{id: b, dsn: "host=x password=se cret"}]}]')
def test_targets_files_give_targets_or_a_config_error_with_a_line(scratch: Path, text: str) -> None:
    path = scratch / "targets.yaml"
    path.write_text(text, errors="surrogatepass")
    try:
        targets_from_file(path)
    except ConfigError as exc:
        assert_names_file_and_line(exc, str(path))
        assert "cret" not in str(exc)  # bug: libpq's message quoted a piece of the password
