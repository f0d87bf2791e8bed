"""Alarm files: YAML in DescribeAlarms' shape, validated whole before anything is used.

A file holds ``MetricAlarms:`` and/or ``CompositeAlarms:`` lists of PutMetricAlarm /
PutCompositeAlarm requests. Any error refuses the whole set with ``file:line: reason``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from alerts.compile import alarm_target
from alerts.composite import (
    CycleError,
    RuleSyntaxError,
    evaluation_order,
    parse_rule,
    references,
)
from alerts.model import AlarmFile, CompositeAlarm, MetricAlarm
from core.errors import ConfigError
from core.yamlconf import Located, load_located, plain

PACK = Path(__file__).parent / "alarms"


@dataclass(frozen=True)
class AlarmSet:
    metric_alarms: tuple[MetricAlarm, ...]
    composites: tuple[CompositeAlarm, ...]

    @property
    def names(self) -> set[str]:
        return {a.AlarmName for a in (*self.metric_alarms, *self.composites)}


def _line(root: Located, loc: Sequence[int | str]) -> int:
    """The line of the deepest value along `loc` that the file has."""
    node, line = root, root.line
    for key in loc:
        value = node.value
        in_mapping = isinstance(value, dict) and isinstance(key, str) and key in value
        in_list = isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value)
        if not (in_mapping or in_list):
            break
        node = value[key]
        line = node.line
    return line


def _error_line(root: Located, loc: Sequence[int | str], message: str) -> int:
    """A rule across fields ("DatapointsToAlarm must not exceed ...") names its first field:
    point at that field's line when the mapping has it."""
    field = message.removeprefix("Value error, ").split(" ", 1)[0]
    return _line(root, (*loc, field))  # the mapping's own line when it has no such key


def _shown(part: str | int) -> str:
    """A key as written, or quoted when it holds a newline or another unprintable."""
    text = str(part)
    return text if text.isprintable() else repr(text)


def _reason(error: dict[str, object]) -> str:
    loc = ".".join(_shown(p) for p in error["loc"] if isinstance(p, str | int))  # type: ignore[attr-defined]
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def parse_file(root: Located, source: str) -> AlarmFile:
    try:
        return AlarmFile.model_validate(plain(root))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        line = _error_line(root, first["loc"], str(first["msg"]))
        raise ConfigError(f"{source}:{line}: {_reason(dict(first))}{more}") from None


def _located(root: Located, source: str) -> Iterable[tuple[str, MetricAlarm | CompositeAlarm]]:
    parsed = parse_file(root, source)
    for index, metric_alarm in enumerate(parsed.MetricAlarms):
        yield f"{source}:{_line(root, ('MetricAlarms', index, 'AlarmName'))}", metric_alarm
    for index, composite in enumerate(parsed.CompositeAlarms):
        yield f"{source}:{_line(root, ('CompositeAlarms', index, 'AlarmName'))}", composite


def located_alarms(text: str, source: str) -> list[tuple[str, MetricAlarm | CompositeAlarm]]:
    """Each alarm of one file's text with its place (`source:line` of its AlarmName)."""
    return list(_located(load_located(text, source), source))


def load_texts(texts: Iterable[tuple[str, str]]) -> AlarmSet:
    """Validate every (source, YAML text) together: names unique, metrics known, composite
    rules parsed and referring to alarms of the set, no cycles."""
    where: dict[str, str] = {}
    metric_alarms: list[MetricAlarm] = []
    composites: list[CompositeAlarm] = []
    for source, text in texts:
        for place, alarm in _located(load_located(text, source), source):
            if alarm.AlarmName in where:
                raise ConfigError(
                    f"{place}: AlarmName {alarm.AlarmName!r} is already defined at "
                    f"{where[alarm.AlarmName]}"
                )
            where[alarm.AlarmName] = place
            if isinstance(alarm, MetricAlarm):
                try:
                    alarm_target(alarm)
                except ValueError as exc:
                    raise ConfigError(f"{place}: {alarm.AlarmName}: {exc}") from None
                metric_alarms.append(alarm)
            else:
                composites.append(alarm)
    rules = {}
    for composite in composites:
        place = where[composite.AlarmName]
        try:
            rules[composite.AlarmName] = parse_rule(composite.AlarmRule)
        except RuleSyntaxError as exc:
            raise ConfigError(f"{place}: AlarmRule: {exc}") from None
        unknown = sorted(references(rules[composite.AlarmName]) - set(where))
        if unknown:
            raise ConfigError(f"{place}: AlarmRule names unknown alarms: {', '.join(unknown)}")
    try:
        evaluation_order(rules)
    except CycleError as exc:
        raise ConfigError(f"{where[exc.name]}: {exc}") from None
    return AlarmSet(tuple(metric_alarms), tuple(composites))


def load_files(paths: Iterable[Path]) -> AlarmSet:
    texts = []
    for path in paths:
        try:
            texts.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return load_texts(texts)


def load_directory(directory: Path) -> AlarmSet:
    return load_files(sorted(directory.glob("*.yml")))


def load_pack() -> AlarmSet:
    """Borealis' default alarms (alerts/alarms/*.yml)."""
    return load_directory(PACK)
