"""Reading `synchronous_standby_names`: which standbys a commit waits for, and how many."""

from __future__ import annotations

import re
from dataclasses import dataclass

_METHOD = re.compile(r"^\s*(?:(ANY|FIRST)\s+)?(\d+)\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SyncPolicy:
    method: str  # "any" (quorum) or "first" (priority)
    required: int
    names: tuple[str, ...]

    def matches(self, application_name: str) -> bool:
        name = application_name.lower()
        return any(n == "*" or n.lower() == name for n in self.names)


_NAME = re.compile(r'\s*("(?:[^"]|"")*"|[^,]+)')


def _split_names(text: str) -> tuple[str, ...]:
    names = []
    for raw in _NAME.findall(text):
        name = raw.strip()
        if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('""', '"')
        if name:
            names.append(name)
    return tuple(names)


def parse_standby_names(setting: str) -> SyncPolicy | None:
    """The policy in a synchronous_standby_names value; None when it is empty."""
    if not setting.strip():
        return None
    found = _METHOD.match(setting)
    if found is None:
        return SyncPolicy("first", 1, _split_names(setting))
    method = (found.group(1) or "first").lower()
    return SyncPolicy(method, int(found.group(2)), _split_names(found.group(3)))


def required_count(setting: str) -> int:
    """How many standbys a commit waits for: '' -> 0, 'a, b' or '*' -> 1,
    'FIRST 2 (a, b, c)' / '2 (a, b)' / 'ANY 4 (...)' -> the number."""
    policy = parse_standby_names(setting)
    return policy.required if policy else 0
