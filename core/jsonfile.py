"""JSON files Borealis reads back (topology, secrets), validated against their schema.

A file that is missing a key, holds a wrong type or is not JSON at all becomes one
`ConfigError` line naming the file, the first problem and what to do; values are never
echoed (a secrets file holds passwords).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from core.errors import ConfigError

T = TypeVar("T")


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{first['msg']}{more}"


def load_json_file(path: Path, schema: type[T], what: str, remedy: str) -> T:
    """Read `path` as JSON and validate it as `schema` (a dataclass); `what` names the file's
    role ("the cluster's topology"), `remedy` says what the user can do about a bad one."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}; {remedy}") from None
    try:
        value: T = _adapter(cast(Any, schema)).validate_json(raw, strict=True)
    except ValidationError as exc:
        raise ConfigError(
            f"{path} is not a valid {what} ({_first_problem(exc)}); {remedy}"
        ) from None
    return value
