"""AWS-style identifiers."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits


def new_resource_id(prefix: str = "db-") -> str:
    """A DbiResourceId-style id: `db-` and 26 upper-case letters and digits, e.g. db-ABC...

    Generated once when an instance is created and stored in the topology, so it is stable
    across restarts, failovers and rejoins, as AWS keeps it for the life of the instance.
    """
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(26))


def is_resource_id(value: str, prefix: str = "db-") -> bool:
    body = value[len(prefix) :]
    return value.startswith(prefix) and len(body) == 26 and all(c in _ALPHABET for c in body)
