"""Strategies for HTTP requests with bad shapes, types and sizes, and the property every
Borealis API must keep: a 2xx, or a 4xx in the API's own error shape, quickly; never a 5xx."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from hypothesis import strategies as st

BOUND_S = 30.0  # a stuck request, not a slow one: a loaded 2-core CI machine is slow
AWS_ERROR_KEYS = {"__type", "message"}
BOREALIS_ERROR_KEYS = {"error", "code"}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "9" * 400, "x" * 5000]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """`value` (a valid request part) with some of its parts replaced, dropped or grown."""
    if isinstance(value, dict):
        return st.fixed_dictionaries(
            {},
            optional={key: st.one_of(mutated(part), JSON) for key, part in value.items()},
        ).flatmap(
            lambda kept: st.dictionaries(st.text(max_size=10), JSON, max_size=2).map(
                lambda extra: {**extra, **kept}
            )
        )
    if isinstance(value, list):
        items = st.one_of(*(mutated(v) for v in value)) if value else JSON
        return st.one_of(st.lists(items, max_size=6), st.just(value * 300))
    return st.one_of(st.just(value), JSON)


HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)


def bodies(valid: Any) -> st.SearchStrategy[bytes]:
    """Request bodies: the valid one mutated, any JSON, invalid JSON, bytes, big bodies."""
    return st.one_of(
        mutated(valid).map(lambda v: json.dumps(v).encode()),
        mutated(valid).map(lambda v: json.dumps(v).encode()),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=100),
        st.sampled_from(
            [
                b"",
                b"{",
                b"[]",
                b"null",
                b'{"a": NaN}',
                b'{"a": 1e999}',
                b"\xff\xfe",
                b" " * 2_000_000,
            ]
        ),
    )


def answer(app: Flask, call: Call, error_keys: set[str]) -> tuple[int, Any]:
    """Send `call` through the app's test client; assert the property; the status and JSON."""
    client = app.test_client()
    started = time.monotonic()
    response = client.open(
        call.path, method=call.method, headers=call.headers, data=call.body, query_string=call.query
    )
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_S, f"{call} took {elapsed:.1f} s"
    assert response.status_code < 500, (call, response.status_code, response.data[:500])
    if response.status_code >= 400 and call.method != "HEAD":
        body = json.loads(response.data)
        assert set(body) == error_keys, body
        assert all(isinstance(body[key], str) and body[key] for key in error_keys), body
    content = response.data
    return response.status_code, json.loads(content) if content[:1] in (b"{", b"[") else None
