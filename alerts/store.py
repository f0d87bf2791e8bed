"""User alarms: the ones created with `borealis alarms apply` or the CloudWatch API.

They live in ``<state>/alarms/user.yml``, in the format of ``alerts/alarms/*.yml`` (a user can
read it), beside the default pack. Every change is validated exactly as the loader validates
files (same models, same messages) over the whole set, pack included: names are unique, a
composite names alarms that exist, nothing forms a cycle. Pack alarms are read-only.

A change runs under an fcntl lock (the CLI and the cloudwatch service both write), is handed
to the injected `publish` callable (compile, check, reload; it raises to refuse, and then
nothing is written), then the file is replaced atomically (temporary file, rename). Each
change leaves CloudWatch ConfigurationUpdate history items (``<state>/alarms/history.db``) and
a control-plane trail record (eventSource monitoring.amazonaws.com).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from alerts.loader import PACK, AlarmSet, load_texts, located_alarms
from alerts.model import CompositeAlarm, MetricAlarm
from core.errors import BorealisError, ConfigError
from core.journal import Journal, JournalTable
from core.trail import Caller, TrailRecord, TrailStore

Alarm = MetricAlarm | CompositeAlarm
Publisher = Callable[[AlarmSet], None]
USER_FILE = "user.yml"
CLOUDWATCH_SOURCE = "monitoring.amazonaws.com"
HEADER = (
    "# Alarms created with `borealis alarms apply` and the CloudWatch API (PutMetricAlarm,\n"
    "# PutCompositeAlarm); the format of alerts/alarms/*.yml. Change them with those tools:\n"
    "# they validate, then reload the running Prometheus and Alertmanager.\n"
)
HISTORY_TABLE = JournalTable(
    name="alarm_configuration",
    time_column="timestamp",
    columns=(
        ("alarm_name", "text not null"),
        ("alarm_type", "text not null"),
        ("item_type", "text not null"),
        ("summary", "text not null"),
        ("data", "text not null"),
    ),
)
DEFAULT_RETENTION_DAYS = 14.0


class AlarmNotFound(BorealisError):
    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"no such alarm: {', '.join(names)}")
        self.names = list(names)


@dataclass(frozen=True)
class Actor:
    """Who changes alarms, for the trail: the OS user and the client (`borealis-cli`, boto3)."""

    caller: Caller
    agent: str


@dataclass(frozen=True)
class AlarmChange:
    created: tuple[Alarm, ...]
    updated: tuple[tuple[Alarm, Alarm], ...]  # (before, after)
    deleted: tuple[Alarm, ...]
    alarms: AlarmSet  # every alarm after the change, pack included


def kind_of(alarm: Alarm) -> str:
    return "CompositeAlarm" if isinstance(alarm, CompositeAlarm) else "MetricAlarm"


def every_alarm(alarms: AlarmSet) -> list[Alarm]:
    """Metric and composite alarms of a set, by name."""
    found: list[Alarm] = [*alarms.metric_alarms, *alarms.composites]
    return sorted(found, key=lambda a: a.AlarmName)


def as_config(alarm: Alarm) -> dict[str, Any]:
    """The alarm as its file entry (and PutMetricAlarm's fields): defaults left out."""
    return alarm.model_dump(mode="json", exclude_defaults=True)


def render(alarms: Sequence[Alarm]) -> str:
    document: dict[str, list[dict[str, Any]]] = {}
    metric = [as_config(a) for a in alarms if isinstance(a, MetricAlarm)]
    composite = [as_config(a) for a in alarms if isinstance(a, CompositeAlarm)]
    if metric:
        document["MetricAlarms"] = metric
    if composite:
        document["CompositeAlarms"] = composite
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=100)


def pack_texts() -> list[tuple[str, str]]:
    """(source, text) of each pack file, sources as `alerts/alarms/X.yml`."""
    return [
        (f"alerts/alarms/{path.name}", path.read_text(encoding="utf-8"))
        for path in sorted(PACK.glob("*.yml"))
    ]


def pack_places() -> dict[str, str]:
    """Pack alarm name -> the file that defines it (`alerts/alarms/X.yml`)."""
    return {
        alarm.AlarmName: source
        for source, text in pack_texts()
        for _, alarm in located_alarms(text, source)
    }


def _strip_place(message: str) -> str:
    """A loader message without its `source:line: ` prefix (for API callers)."""
    head, sep, rest = message.partition(": ")
    return rest if sep and ":" in head else message


class AlarmStore:
    def __init__(
        self,
        state_root: Path,
        *,
        publish: Publisher | None = None,
        trail: TrailStore | None = None,
        retention_days: float = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.directory = state_root / "alarms"
        self.path = self.directory / USER_FILE
        self.publish = publish
        self.trail = trail
        self._retention = timedelta(days=retention_days)
        self._journal: Journal | None = None

    # --- reading -------------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.directory / "history.db", HISTORY_TABLE, self._retention)
        return self._journal

    def _user_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def user_alarms(self) -> list[Alarm]:
        return [alarm for _, alarm in located_alarms(self._user_text(), str(self.path))]

    def alarms(self) -> AlarmSet:
        """Pack and user alarms, validated together."""
        return load_texts([*pack_texts(), (str(self.path), self._user_text())])

    def origin(self, name: str) -> str | None:
        """Where an alarm is defined: its pack file, the user file, or None."""
        pack = pack_places()
        if name in pack:
            return pack[name]
        if any(a.AlarmName == name for a in self.user_alarms()):
            return str(self.path)
        return None

    # --- changing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def apply_text(self, text: str, source: str, actor: Actor) -> AlarmChange:
        """Create or replace every alarm of one file's text (validated whole first)."""
        try:
            incoming = located_alarms(text, source)
        except ConfigError as exc:
            self._audit("PutMetricAlarm", {"file": source}, actor, error=exc)
            raise
        return self._change(incoming, [], text, source, actor)

    def put(self, alarm: Alarm, actor: Actor) -> AlarmChange:
        """Create or replace one alarm (the API's PutMetricAlarm / PutCompositeAlarm); a
        refusal's message has no file place."""
        text = render([alarm])
        try:
            return self._change([("request", alarm)], [], text, "request", actor)
        except ConfigError as exc:
            raise ConfigError(_strip_place(str(exc))) from None

    def delete(self, names: Sequence[str], actor: Actor) -> AlarmChange:
        return self._change([], list(dict.fromkeys(names)), "", "", actor)

    def _change(
        self,
        incoming: list[tuple[str, Alarm]],
        deleting: list[str],
        text: str,
        source: str,
        actor: Actor,
    ) -> AlarmChange:
        events = self._events(incoming, deleting, source)
        try:
            with self._locked():
                change = self._change_locked(incoming, deleting, text, source)
        except BorealisError as exc:
            for name, params in events:
                self._audit(name, params, actor, error=exc)
            raise
        for name, params in events:
            self._audit(name, params, actor)
        self._record_history(change)
        return change

    def check_text(self, text: str, source: str) -> AlarmChange:
        """What applying one file's text would do, validated as `apply_text` validates it;
        nothing is written or published."""
        return self._planned(located_alarms(text, source), [], text, source)[0]

    def _change_locked(
        self, incoming: list[tuple[str, Alarm]], deleting: list[str], text: str, source: str
    ) -> AlarmChange:
        change, new_text = self._planned(incoming, deleting, text, source)
        if self.publish is not None:
            self.publish(change.alarms)
        self._write(new_text)
        return change

    def _planned(
        self, incoming: list[tuple[str, Alarm]], deleting: list[str], text: str, source: str
    ) -> tuple[AlarmChange, str]:
        pack = pack_places()
        for place, alarm in incoming:
            if alarm.AlarmName in pack:
                raise ConfigError(
                    f"{place}: AlarmName {alarm.AlarmName!r} is defined in "
                    f"{pack[alarm.AlarmName]}: the default pack is read-only"
                )
        for name in deleting:
            if name in pack:
                raise ConfigError(
                    f"{name} is defined in {pack[name]}: the default pack is read-only"
                )
        current = self.user_alarms()
        by_name = {a.AlarmName: a for a in current}
        missing = [name for name in deleting if name not in by_name]
        if missing:
            raise AlarmNotFound(missing)
        replaced = {a.AlarmName for _, a in incoming} | set(deleting)
        kept = [a for a in current if a.AlarmName not in replaced]
        # Validate as the loader does, with the incoming alarms at their own places.
        texts = [*pack_texts(), (str(self.path), render(kept))]
        if incoming:
            texts.append((source, text))
        load_texts(texts)
        new_by_name = {a.AlarmName: a for _, a in incoming}
        result = [new_by_name.pop(a.AlarmName, a) for a in current if a.AlarmName not in deleting]
        result += list(new_by_name.values())
        new_text = render(result)
        alarms = load_texts([*pack_texts(), (str(self.path), new_text)])
        change = AlarmChange(
            created=tuple(a for _, a in incoming if a.AlarmName not in by_name),
            updated=tuple((by_name[a.AlarmName], a) for _, a in incoming if a.AlarmName in by_name),
            deleted=tuple(by_name[name] for name in deleting),
            alarms=alarms,
        )
        return change, new_text

    def _write(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".user-", suffix=".yml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- history and trail ---------------------------------------------------------------

    def _events(
        self, incoming: list[tuple[str, Alarm]], deleting: list[str], source: str
    ) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        for _, alarm in incoming:
            params = as_config(alarm)
            if source and source != "request":
                params["file"] = source
            events.append((f"Put{kind_of(alarm)}", params))
        if deleting:
            events.append(("DeleteAlarms", {"alarmNames": deleting}))
        return events

    def _audit(
        self,
        event_name: str,
        params: dict[str, Any],
        actor: Actor,
        *,
        error: BaseException | None = None,
    ) -> None:
        if self.trail is None:
            return
        code = None
        if isinstance(error, AlarmNotFound):
            code = "ResourceNotFound"
        elif error is not None:
            code = "ValidationError"
        self.trail.add(
            TrailRecord(
                event_name=event_name,
                caller=actor.caller,
                request_parameters=params,
                response_elements=None,
                error_code=code,
                error_message=str(error) if error is not None else None,
                event_source=CLOUDWATCH_SOURCE,
                user_agent=actor.agent,
            )
        )

    def record(self, name: str, kind: str, item_type: str, summary: str, data: Any) -> None:
        """One AlarmHistoryItem (ConfigurationUpdate here; SetAlarmState's StateUpdate)."""
        self.journal.append(
            datetime.now(UTC), (name, kind, item_type, summary, json.dumps(data, sort_keys=True))
        )

    def _record_history(self, change: AlarmChange) -> None:
        for alarm in change.created:
            data = {"type": "Create", "version": "1.0", "createdAlarm": as_config(alarm)}
            summary = f'Alarm "{alarm.AlarmName}" created'
            self.record(alarm.AlarmName, kind_of(alarm), "ConfigurationUpdate", summary, data)
        for before, after in change.updated:
            data = {
                "type": "Update",
                "version": "1.0",
                "originalAlarm": as_config(before),
                "updatedAlarm": as_config(after),
            }
            summary = f'Alarm "{after.AlarmName}" updated'
            self.record(after.AlarmName, kind_of(after), "ConfigurationUpdate", summary, data)
        for alarm in change.deleted:
            data = {"type": "Delete", "version": "1.0", "deletedAlarm": as_config(alarm)}
            summary = f'Alarm "{alarm.AlarmName}" deleted'
            self.record(alarm.AlarmName, kind_of(alarm), "ConfigurationUpdate", summary, data)

    def history(
        self, name: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The AlarmHistoryItems recorded here, oldest first (Timestamp as epoch seconds)."""
        where = {} if name is None else {"alarm_name": name}
        if not (self.directory / "history.db").exists():
            return []
        return [
            {
                "AlarmName": row[1],
                "AlarmType": row[2],
                "Timestamp": datetime.fromisoformat(row[0]).timestamp(),
                "HistoryItemType": row[3],
                "HistorySummary": row[4],
                "HistoryData": row[5],
            }
            for row in self.journal.rows(since=since, where=where)
        ]
