"""SQL digests: statements with their literals replaced by `?`, as Performance Insights shows.

The digest never carries a literal value, so it is safe for labels, logs and the PI API.
Normalising with sqlparse costs about a millisecond, so results are cached by text, and the
sampler digests each statement once (`StatementBook`), keeping the texts by id (`DigestBook`).
"""

from __future__ import annotations

import functools
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import sqlparse.keywords
from sqlparse import tokens as T
from sqlparse.lexer import Lexer
from sqlparse.tokens import _TokenType

MAX_TEXT = 4096
_PLACEHOLDER = re.compile(r"\$\d+")
_IN_LIST = re.compile(r"\b(in)\s*\(\s*\?(?:\s*,\s*\?)+\s*\)", re.IGNORECASE)
_VALUES_LIST = re.compile(r"(\(\s*\?(?:\s*,\s*\?)*\s*\))(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*\s*\))+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Digest:
    id: str  # the server's query id when there is one, else a synthetic `pi-<crc32>`
    text: str  # normalised statement, literals as `?`


# Where sqlparse's lexer reads PostgreSQL wrongly, these rules (tried first) read it right:
# a backslash escapes a quote only in E'...' strings (standard_conforming_strings), B'', X'',
# N'' and U&'' prefixes belong to their string, and `1.5e+3`, `1_000` are one number each.
_POSTGRES_RULES = [
    (r"E'(?:''|\\.|[^'\\])*'", T.Literal.String.Single),
    (r"(?:[BXN]|U&)'(?:''|[^'])*'", T.Literal.String.Single),
    (r"'(?:''|[^'])*'", T.Literal.String.Single),
    (r'(?:U&)?"(?:""|[^"])*"', T.Literal.String.Symbol),
    (r"-?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:E[-+]?\d+)?(?![\w$])", T.Literal.Number),
]


@functools.cache
def _lexer() -> Lexer:
    """sqlparse's lexer with the PostgreSQL rules in front (a private instance: the default
    one is shared with every other user of sqlparse)."""
    lexer = Lexer()
    lexer.default_initialization()  # type: ignore[no-untyped-call]
    lexer.set_SQL_REGEX(_POSTGRES_RULES + list(sqlparse.keywords.SQL_REGEX))  # type: ignore[no-untyped-call]
    return lexer


def _is_literal(ttype: _TokenType, value: str) -> bool:
    if ttype in T.Literal.Number or ttype in T.Literal.String.Single:
        return True
    if ttype in T.Name:
        return value[:1].isdigit()  # `1e`: no identifier starts with a digit
    # Dollar-quoted strings ($$...$$, $tag$...$tag$) are literals too.
    return ttype in T.Literal and value.startswith("$") and value.endswith("$")


@functools.lru_cache(maxsize=4096)
def normalize(sql: str) -> str:
    """`select * from t where a = 5 and b in (1, 2)` -> `... where a = ? and b in (?)`."""
    text = sql[:MAX_TEXT].strip().rstrip(";").strip()
    if not text:
        return ""
    parts: list[str] = []
    for ttype, value in _tokens(text):
        if ttype in T.Error:
            # An unterminated quote: the text was cut (track_activity_query_size) inside
            # a literal, so everything after it may be literal: stop here.
            _question(parts)
            return _finish(parts)
        if _is_literal(ttype, value):
            _question(parts)
        elif ttype in T.Comment:
            continue
        elif ttype is T.Name.Placeholder or _PLACEHOLDER.fullmatch(value):
            parts.append("?")
        else:
            parts.append(value)
    return _finish(parts)


def _tokens(text: str) -> Iterator[tuple[_TokenType, str]]:
    """The lexer's tokens, with PostgreSQL's comments: they nest (`/* a /* b */ c */` is one),
    and an unterminated one (a text cut by track_activity_query_size) runs to the end."""
    at = 0
    while at < len(text):
        offset = at
        for ttype, value in _lexer().get_tokens(text[at:]):  # type: ignore[no-untyped-call]
            if (value == "/" and text.startswith("/*", offset)) or ttype in T.Comment.Multiline:
                end = _comment_end(text, offset)
                yield T.Comment.Multiline, text[offset:end]
                at = end
                break
            yield ttype, value
            offset += len(value)
        else:
            return


def _comment_end(text: str, start: int) -> int:
    depth, at = 0, start
    while at < len(text):
        if text.startswith("/*", at):
            depth, at = depth + 1, at + 2
        elif text.startswith("*/", at):
            depth, at = depth - 1, at + 2
            if depth == 0:
                return at
        else:
            at += 1
    return len(text)


def _question(parts: list[str]) -> None:
    """One `?` for a literal, and for one literal read as two tokens."""
    if not parts or parts[-1] != "?":
        parts.append("?")


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


MAX_DIGEST_TEXTS = 20_000


class DigestBook:
    """Digest id -> normalised text (no literals), learnt from activity and pg_stat_statements."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._by_text: dict[str, str] = {}  # normalised text -> a query id's key with it
        self._lock = threading.Lock()

    def digest_id(self, query_id: int | None, query: str) -> str:
        if query_id:
            key = str(query_id)
            if not self._texts.get(key) and (query or key not in self._texts):
                self._remember(key, normalize(query), by_query_id=True)
            return key
        # No query id: the server computes none, or the session was caught before it
        # reported one (while its statement was parsed). A statement already known by its
        # query id keeps it, so one statement is not two digests.
        text = normalize(query)
        key = self._by_text.get(text) or synthetic_id(text)
        if key not in self._texts:
            self._remember(key, text)
        return key

    def learn(self, texts: dict[str, str]) -> None:
        """Texts from pg_stat_statements (keyed by query id) are better (never cut): they win."""
        for key, text in texts.items():
            if text:
                self._remember(key, text, by_query_id=True)

    def _remember(self, key: str, text: str, by_query_id: bool = False) -> None:
        with self._lock:
            if len(self._texts) >= MAX_DIGEST_TEXTS:
                self._texts.clear()
                self._by_text.clear()
            self._texts[key] = text
            if by_query_id and text:
                self._by_text.setdefault(text, key)

    def text(self, key: str) -> str:
        return self._texts.get(key, "")


@dataclass(frozen=True)
class Statement:
    digest_id: str
    sql_id: str
    query: str  # kept only when collector.sql_literals is on
    query_id: int | None = None


class StatementBook:
    """Statements already digested, by (pid, statement start): a statement's text comes only
    with its first row of a batch, and sqlparse runs once per statement, not once a sample."""

    MAX = 10_000

    def __init__(self, digests: DigestBook, literals: bool) -> None:
        self.digests = digests
        self.literals = literals
        self._known: dict[tuple[int, float], Statement] = {}

    def statement(
        self, pid: int, start: float, query_id: int | None, text: str | None
    ) -> Statement:
        key = (pid, start)
        known = self._known.get(key)
        fresh_id = bool(query_id) and known is not None and known.query_id != query_id
        if known is not None and not fresh_id and (text is None or known.digest_id):
            return known
        if text is None and not query_id:  # its text went with a batch we did not keep
            return Statement("", "", "")
        if len(self._known) >= self.MAX:
            self._known.clear()
        query = text or ""
        digest_id = self.digests.digest_id(query_id, query)
        sql_id = f"sql-{zlib.crc32(query.encode()):08x}" if self.literals else digest_id
        known = Statement(digest_id, sql_id, query if self.literals else "", query_id)
        self._known[key] = known
        return known
