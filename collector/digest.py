"""SQL digests: statements with their literals replaced by `?`, as Performance Insights shows.

The digest never carries a literal value, so it is safe for labels, logs and the PI API.
Normalising with sqlparse costs about a millisecond, so results are cached by text.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass

import sqlparse
from sqlparse import tokens as T

MAX_TEXT = 4096
_PLACEHOLDER = re.compile(r"\$\d+")
_IN_LIST = re.compile(r"\b(in)\s*\(\s*\?(?:\s*,\s*\?)+\s*\)", re.IGNORECASE)
_VALUES_LIST = re.compile(r"(\(\s*\?(?:\s*,\s*\?)*\s*\))(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*\s*\))+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Digest:
    id: str  # the server's query id when there is one, else a synthetic `pi-<crc32>`
    text: str  # normalised statement, literals as `?`


def _is_literal(token: sqlparse.sql.Token) -> bool:
    ttype = token.ttype
    if ttype is None:
        return False
    if ttype in T.Literal.Number or ttype in T.Literal.String.Single:
        return True
    # Dollar-quoted strings ($$...$$, $tag$...$tag$) are literals too.
    return ttype in T.Literal and token.value.startswith("$") and token.value.endswith("$")


@functools.lru_cache(maxsize=4096)
def normalize(sql: str) -> str:
    """`select * from t where a = 5 and b in (1, 2)` -> `... where a = ? and b in (?)`."""
    text = sql[:MAX_TEXT].strip().rstrip(";").strip()
    if not text:
        return ""
    parts: list[str] = []
    for statement in sqlparse.parse(text):
        for token in statement.flatten():  # type: ignore[no-untyped-call]
            if token.ttype in T.Error:
                # An unterminated quote: the text was cut (track_activity_query_size) inside
                # a literal, so everything after it may be literal: stop here.
                if not parts or parts[-1] != "?":
                    parts.append("?")
                return _finish(parts)
            if _is_literal(token):
                parts.append("?")
            elif token.ttype in T.Comment:
                continue
            elif token.ttype is T.Name.Placeholder or _PLACEHOLDER.fullmatch(token.value):
                parts.append("?")
            else:
                parts.append(token.value)
    return _finish(parts)


def _finish(parts: list[str]) -> str:
    out = _SPACE.sub(" ", "".join(parts)).strip()
    out = _PLACEHOLDER.sub("?", out)
    out = _VALUES_LIST.sub(r"\1", out)
    return _IN_LIST.sub(r"\1 (?)", out)


def synthetic_id(normalized: str) -> str:
    return f"pi-{zlib.crc32(normalized.encode())}"


def digest(sql: str, query_id: int | None = None) -> Digest:
    text = normalize(sql)
    return Digest(str(query_id) if query_id else synthetic_id(text), text)
