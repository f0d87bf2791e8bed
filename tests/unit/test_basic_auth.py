"""Basic auth (bcrypt) in front of real APIs served by waitress: no credentials and wrong ones
get a 401 with WWW-Authenticate in the API's error shape, the right ones the answer; the
health path stays open."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from core.httpapi import AwsJsonErrors, HttpServer, JsonErrors, api_app
from core.httpapi.auth import BasicAuth, hash_password

USERS = {"ops": hash_password("correct horse")}


def make_app(aws: bool) -> Flask:
    app = api_app("probe", AwsJsonErrors() if aws else JsonErrors())

    @app.get("/api/thing")
    def thing() -> dict[str, Any]:
        return {"thing": 1}

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    return app


@pytest.fixture(params=[False, True], ids=["borealis", "aws"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[HttpServer, bool]]:
    running = HttpServer(make_app(request.param), port=0, users=USERS)
    running.start()
    yield running, request.param
    running.stop()


def get(url: str, user: str | None = None, password: str = "") -> tuple[int, Any, Any]:
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


@pytest.mark.parametrize(
    ("user", "password"),
    [(None, ""), ("ops", "wrong"), ("nobody", "correct horse"), ("ops", "")],
)
def test_missing_or_wrong_credentials_get_401(
    server: tuple[HttpServer, bool], user: str | None, password: str
) -> None:
    running, aws = server
    status, headers, body = get(f"{running.url}/api/thing", user, password)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="Borealis", charset="UTF-8"'
    assert set(body) == ({"__type", "message"} if aws else {"error", "code"})


def test_the_right_credentials_get_the_answer(server: tuple[HttpServer, bool]) -> None:
    running, _ = server
    assert get(f"{running.url}/api/thing", "ops", "correct horse")[::2] == (200, {"thing": 1})
    # checked once, then remembered: the second request costs no bcrypt round
    assert get(f"{running.url}/api/thing", "ops", "correct horse")[0] == 200


def test_health_stays_open(server: tuple[HttpServer, bool]) -> None:
    running, _ = server
    assert get(f"{running.url}/healthz")[::2] == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"no-colon").decode(), "x"],
)
def test_malformed_headers_are_refused_not_raised(header: str) -> None:
    auth = BasicAuth(make_app(False), USERS)
    assert not auth.allowed(header)


def test_without_users_nothing_is_asked() -> None:
    running = HttpServer(make_app(False), port=0)
    running.start()
    try:
        assert get(f"{running.url}/api/thing")[0] == 200
    finally:
        running.stop()
