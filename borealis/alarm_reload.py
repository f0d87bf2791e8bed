"""Alarm changes reach the running stack: compile, check, write, reload, confirm.

`StackPublisher` is the `publish` callable the alarm store (alerts/store.py) is given: it
writes the stack's rule files and alertmanager.yml for the new alarm set (each checked by
promtool / amtool first), then reloads the Prometheus and Alertmanager of this state
directory, if they run, by SIGHUP to the pid in their pid files (no HTTP lifecycle API).
A reload counts only once confirmed: the reload timestamp moved, the reload was successful,
and Prometheus' /api/v1/rules has exactly the new rules (group, name, labels) (Alertmanager's
/api/v2/receivers exactly the new receivers). A failed reload restores the old files, reloads
them, and raises.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from alerts.cloudwatch_api.store_backend import StoreAlarmBackend
from alerts.inbox import AlertInbox
from alerts.loader import AlarmSet
from alerts.publish import rule_texts, tool_beside, write_rules
from alerts.store import AlarmStore
from borealis import alertmanager, prometheus
from cluster.pgctl import is_alive, read_pid
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings import Settings
from core.trail import TrailStore
from core.waiting import WaitTimeout, wait_until
from core.webauth import internal_header

log = logging.getLogger(__name__)
RELOAD_TIMEOUT_S = 30.0


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    """GET one of the stack's services (`headers`: the internal login when auth is on)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our own URL
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own service
        body: bytes = response.read()
        return body


def metric_values(
    url: str, names: tuple[str, ...], headers: dict[str, str] | None = None
) -> dict[str, float]:
    """Unlabelled samples `names` from a /metrics page."""
    found: dict[str, float] = {}
    for line in _get(f"{url}/metrics", headers).decode().splitlines():
        name, _, value = line.partition(" ")
        if name in names:
            found[name] = float(value)
    return found


def running_pid(pid_file: Path, config_file: Path) -> int | None:
    """The pid in `pid_file` if that process runs with `config_file` (not a recycled pid)."""
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if f"--config.file={config_file}".encode() in cmdline else None


def sighup_and_confirm(
    name: str,
    url: str,
    pid: int,
    *,
    prefix: str,
    took: Callable[[], bool],
    timeout: float = RELOAD_TIMEOUT_S,
    headers: dict[str, str] | None = None,
) -> None:
    """SIGHUP `pid`, then wait until `<prefix>_config_last_reload_success_timestamp_seconds`
    moves and `took()` holds; a reload the service reports failed raises at once."""
    stamp, ok = (
        f"{prefix}_config_last_reload_success_timestamp_seconds",
        (f"{prefix}_config_last_reload_successful"),
    )
    before = metric_values(url, (stamp, ok), headers)
    os.kill(pid, signal.SIGHUP)

    def reloaded() -> str:
        now = metric_values(url, (stamp, ok), headers)
        if now.get(stamp, 0) > before.get(stamp, 0) and now.get(ok) == 1:
            return "reloaded" if took() else ""
        if now.get(ok) == 0 and before.get(ok) == 1:
            return "failed"
        return ""

    try:
        result = wait_until(
            reloaded,
            timeout=timeout,
            interval=0.1,
            what=f"{name} to reload",
            retry_on=(OSError, ValueError),
        )
    except WaitTimeout as exc:
        raise BorealisError(f"{name} did not confirm the reload: {exc}") from None
    if result == "failed":
        raise BorealisError(f"{name} refused the new configuration; see its log")


RuleKey = tuple[str, str, tuple[tuple[str, str], ...]]


def rule_key(group: str, rule: dict[str, Any]) -> RuleKey:
    """A rule as the files and Prometheus' /api/v1/rules both name it: its group, its
    record or alert name, its labels (an alarm's recording rules share names, not labels)."""
    name = rule.get("record") or rule.get("alert") or rule.get("name")
    labels = rule.get("labels") or {}
    return group, str(name), tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def rule_keys(texts: dict[str, str]) -> Counter[RuleKey]:
    return Counter(
        rule_key(str(group["name"]), rule)
        for text in texts.values()
        for group in (yaml.safe_load(text) or {}).get("groups", [])
        for rule in group.get("rules", [])
    )


class StackPublisher:
    """Write the stack's alarm files and reload what runs; `reloaded` names what was."""

    def __init__(self, settings: Settings, paths: StatePaths | None = None) -> None:
        self.settings = settings
        self.paths = paths or settings.state_paths()
        self.reloaded: list[str] = []

    def _url(self, name: str) -> str:
        return f"http://{self.settings.listen_host}:{self.settings.ports.port(name)}"

    def __call__(self, alarms: AlarmSet) -> None:
        self.reloaded = []
        paths = self.paths
        texts = rule_texts(alarms)
        promtool = tool_beside(self.settings.prometheus.binary, "promtool")
        swap = write_rules(prometheus.rule_dir(paths), texts, promtool)
        try:
            old_config = alertmanager.write_config(self.settings, paths, alarms)
        except BaseException:
            swap.rollback()
            raise
        try:
            self._reload(texts, alertmanager.config_path(paths).read_text(encoding="utf-8"))
        except BorealisError:
            swap.rollback()
            if old_config is not None:
                alertmanager.config_path(paths).write_text(old_config, encoding="utf-8")
            try:
                self._reload(None, None)
            except BorealisError as exc:
                log.error("reloading the previous alarm configuration: %s", exc)
            raise
        swap.commit()

    def publish_alertmanager(self, alarms: AlarmSet) -> None:
        """alertmanager.yml alone (an event subscription changed; the rules did not):
        written once amtool accepts it, reloaded and confirmed, the old one restored when
        the running Alertmanager refuses it."""
        self.reloaded = []
        paths = self.paths
        old_config = alertmanager.write_config(self.settings, paths, alarms)
        try:
            self._reload_alertmanager(alertmanager.config_path(paths).read_text(encoding="utf-8"))
        except BorealisError:
            if old_config is not None:
                alertmanager.config_path(paths).write_text(old_config, encoding="utf-8")
                try:
                    self._reload_alertmanager(None)
                except BorealisError as exc:
                    log.error("reloading the previous Alertmanager configuration: %s", exc)
            raise

    def _reload(self, texts: dict[str, str] | None, am_text: str | None) -> None:
        self._reload_prometheus(texts)
        self._reload_alertmanager(am_text)

    def _reload_prometheus(self, texts: dict[str, str] | None) -> None:
        paths = self.paths
        login = internal_header(self.settings)
        pid = running_pid(paths.pid_file("prometheus"), prometheus.config_path(paths))
        if pid is None:
            return
        url = self._url("prometheus")
        expected = rule_keys(texts) if texts is not None else None

        def rules_loaded() -> bool:
            if expected is None:
                return True
            data = json.loads(_get(f"{url}/api/v1/rules", login))["data"]
            loaded = Counter(
                rule_key(g["name"], rule) for g in data["groups"] for rule in g["rules"]
            )
            return loaded == expected

        sighup_and_confirm(
            "Prometheus", url, pid, prefix="prometheus", took=rules_loaded, headers=login
        )
        self.reloaded.append("prometheus")

    def _reload_alertmanager(self, am_text: str | None) -> None:
        paths = self.paths
        login = internal_header(self.settings)
        pid = running_pid(paths.pid_file("alertmanager"), alertmanager.config_path(paths))
        if pid is None:
            return
        url = self._url("alertmanager")
        receivers = (
            None
            if am_text is None
            else {str(r["name"]) for r in yaml.safe_load(am_text)["receivers"]}
        )

        def config_loaded() -> bool:
            # /api/v2/status shows the configuration re-marshalled, not the file: the
            # receivers tell the new configuration from the old.
            if receivers is None:
                return True
            listed = json.loads(_get(f"{url}/api/v2/receivers", login))
            return {str(r["name"]) for r in listed} == receivers

        sighup_and_confirm(
            "Alertmanager", url, pid, prefix="alertmanager", took=config_loaded, headers=login
        )
        self.reloaded.append("alertmanager")


def stack_alarm_store(settings: Settings, publisher: StackPublisher | None = None) -> AlarmStore:
    """The alarm store of this state directory: publishing to (and reloading) its stack,
    every change in its control-plane trail."""
    paths = settings.state_paths()
    return AlarmStore(
        paths.root,
        publish=publisher or StackPublisher(settings, paths),
        trail=TrailStore(paths.trail_db, settings.retention.trail_days),
        retention_days=settings.retention.events_days,
    )


def cloudwatch_backend(settings: Settings) -> StoreAlarmBackend:
    """The CloudWatch API's alarms: this stack's store (publishing and reloading), states from
    its Prometheus, actions through its Alertmanager, state history from its webhook."""
    paths = settings.state_paths()
    host = settings.listen_host
    return StoreAlarmBackend(
        stack_alarm_store(settings),
        prometheus_url=f"http://{host}:{settings.ports.port('prometheus')}",
        alertmanager_url=f"http://{host}:{settings.ports.port('alertmanager')}",
        inbox=AlertInbox(paths.root / "alerts", settings.retention.events_days),
    )
