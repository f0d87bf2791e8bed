"""SQL lives in .sql files next to this module, chosen by server version.

A file may start with ``-- min_version: 140000`` (server_version_num); for a view that changed
shape, ``name.sql`` holds the newest form and ``name.pg13.sql`` the form for older servers.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_MIN_VERSION = re.compile(r"--\s*min_version:\s*(\d+)")


@functools.cache
def _text(filename: str) -> str | None:
    path = resources.files("collector") / "sql" / filename
    return path.read_text() if path.is_file() else None


def query_for(name: str, version_num: int) -> str | None:
    """The SQL for `name` on a server, or None when the server is too old for it."""
    major = version_num // 10000
    for candidate in (f"{name}.pg{major}.sql", f"{name}.sql"):
        text = _text(candidate)
        if text is None:
            continue
        found = _MIN_VERSION.search(text)
        if found and version_num < int(found.group(1)):
            return None
        return text
    raise KeyError(f"no SQL file for {name!r}")
