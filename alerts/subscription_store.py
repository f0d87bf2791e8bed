"""The event subscriptions file, ``<state>/alarms/subscriptions.yml``: create, modify, delete
under an exclusive lock (fcntl, on a sibling ``.lock`` file), each change one atomic
rename, so a reader (the event forwarder, the Alertmanager config) never sees half a file.

A file edited by hand and wrong is refused with its path, the line of the entry and the
reason; nothing from it is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from alerts.subscriptions import (
    EventSubscription,
    SubscriptionError,
    first_problem,
    parse_subscription,
)
from core.errors import ConfigError
from core.yamlconf import load_located_file, plain

FILE_NAME = "subscriptions.yml"
KEY = "subscriptions"


def subscriptions_file(state_root: Path) -> Path:
    return state_root / "alarms" / FILE_NAME


def load_subscriptions(path: Path) -> list[EventSubscription]:
    """Every subscription in `path` (none when it does not exist), in file order."""
    if not path.exists():
        return []
    document = load_located_file(path)
    if document.value in ({}, None):
        return []
    entries = document.value.get(KEY) if isinstance(document.value, dict) else None
    if entries is None or not isinstance(entries.value, list):
        raise ConfigError(f"{path}:{document.line}: expected `{KEY}:` with a list of entries")
    found: dict[str, EventSubscription] = {}
    for entry in entries.value:
        try:
            subscription = EventSubscription.model_validate(plain(entry))
        except ValidationError as exc:
            raise ConfigError(f"{path}:{entry.line}: {first_problem(exc)}") from None
        if subscription.SubscriptionName in found:
            raise ConfigError(
                f"{path}:{entry.line}: subscription {subscription.SubscriptionName!r} appears twice"
            )
        found[subscription.SubscriptionName] = subscription
    return list(found.values())


class SubscriptionStore:
    """The subscriptions of one state directory. Every change holds the file's lock from
    read to rename, so two CLIs at once do not lose each other's change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, subscriptions: list[EventSubscription]) -> None:
        document = {KEY: [s.model_dump(exclude_none=True) for s in subscriptions]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                yaml.safe_dump(document, handle, sort_keys=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list(self) -> list[EventSubscription]:
        return load_subscriptions(self.path)

    def get(self, name: str) -> EventSubscription:
        for subscription in self.list():
            if subscription.SubscriptionName == name:
                return subscription
        raise SubscriptionError("SubscriptionNotFound", f"no event subscription named {name!r}")

    def create(self, subscription: EventSubscription) -> EventSubscription:
        with self._locked():
            current = self.list()
            if any(s.SubscriptionName == subscription.SubscriptionName for s in current):
                raise SubscriptionError(
                    "SubscriptionAlreadyExist",
                    f"an event subscription named {subscription.SubscriptionName!r} exists",
                )
            self._write([*current, subscription])
        return subscription

    def modify(self, name: str, changes: dict[str, Any]) -> EventSubscription:
        """Apply `changes` (field -> new value) to subscription `name`; the result is
        validated as a whole, so a category wrong for a new source type is refused."""
        with self._locked():
            current = self.list()
            for index, old in enumerate(current):
                if old.SubscriptionName == name:
                    new = parse_subscription({**old.model_dump(), **changes})
                    current[index] = new
                    self._write(current)
                    return new
        raise SubscriptionError("SubscriptionNotFound", f"no event subscription named {name!r}")

    def delete(self, name: str) -> EventSubscription:
        with self._locked():
            current = self.list()
            kept = [s for s in current if s.SubscriptionName != name]
            if len(kept) == len(current):
                raise SubscriptionError(
                    "SubscriptionNotFound", f"no event subscription named {name!r}"
                )
            self._write(kept)
        return next(s for s in current if s.SubscriptionName == name)
