"""core.httpapi: real waitress servers on 127.0.0.1; every malformed request gets the API's
error shape, the server keeps serving, stop() frees the port."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from flask import Flask
from pydantic import Field

from core.errors import BorealisError
from core.httpapi import (
    ApiError,
    AwsJsonErrors,
    ErrorShape,
    HttpServer,
    JsonErrors,
    RequestModel,
    api_app,
    json_model,
    query_model,
)
from tests.conftest import PORT_BASE

PORT = PORT_BASE + 750


class Window(RequestModel):
    minutes: float = Field(60.0, gt=0, le=1000)


class Order(RequestModel):
    name: str
    count: int = Field(ge=1)


def make_app(errors: ErrorShape) -> Flask:
    app = api_app("test", errors, max_body=1000)

    @app.get("/window")
    def window() -> dict[str, Any]:
        return {"minutes": query_model(Window).minutes}

    @app.post("/order")
    def order() -> dict[str, Any]:
        placed = json_model(Order)
        if placed.name == "refused":
            raise ApiError(409, "Conflict", "that one is taken")
        return {"name": placed.name, "count": placed.count}

    @app.get("/boom")
    def boom() -> dict[str, Any]:
        raise RuntimeError("a bug, with a secret in it")

    return app


def serve(errors: ErrorShape, port: int = PORT) -> HttpServer:
    # No errors= here: the server takes the shape of the api_app.
    server = HttpServer(make_app(errors), port=port, name="test", max_body=1000)
    server.start()
    return server


@pytest.fixture
def json_server() -> Iterator[HttpServer]:
    server = serve(JsonErrors())
    yield server
    server.stop()


@pytest.fixture
def aws_server() -> Iterator[HttpServer]:
    server = serve(AwsJsonErrors("1.0", query_compatible=True), PORT + 1)
    yield server
    server.stop()


def lower(headers: Iterable[tuple[str, ...]]) -> dict[str, str]:
    """Header names are case-insensitive (waitress sends X-Amzn-Errortype): compare lowered."""
    return {name.lower(): value for name, value in headers}


def call(
    url: str, body: bytes | None = None, method: str | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, lower(response.headers.items()), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, lower(exc.headers.items()), json.load(exc)


def raw(server: HttpServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; (status, lowered headers, body) of the answer."""
    with socket.create_connection((server.host, server.port), timeout=5) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = lower(tuple(line.split(": ", 1)) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("nan", "finite"),
        ("inf", "finite"),
        ("-inf", "finite"),
        ("1e12", "less than or equal to 1000"),
        ("-1", "greater than 0"),
        ("abc", "valid number"),
        ("", "valid number"),
    ],
)
def test_bad_query_arguments_are_400s_naming_the_argument(
    json_server: HttpServer, query: str, words: str
) -> None:
    status, headers, body = call(f"{json_server.url}/window?minutes={query}")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["code"] == "ValidationError"
    assert body["error"].startswith("minutes: ") and words in body["error"]
    assert call(f"{json_server.url}/window?minutes=5")[:3:2] == (200, {"minutes": 5.0})


def test_a_json_body_is_validated_by_its_model(json_server: HttpServer) -> None:
    url = f"{json_server.url}/order"
    status, _, body = call(url, b'{"name": "tea", "count": 2}')
    assert (status, body) == (200, {"name": "tea", "count": 2})
    status, _, body = call(url, b'{"count": "many"}')
    assert status == 400
    assert body["error"].startswith("Missing required parameter name; count: ")
    status, _, body = call(url, b'{"name": "refused", "count": 1}')
    assert (status, body) == (409, {"error": "that one is taken", "code": "Conflict"})


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{not json", "The body is not valid JSON"),
        (b'{"name": "tea", "count": NaN}', "NaN is not JSON"),
        (b'{"name": "tea", "count": Infinity}', "Infinity is not JSON"),
        (b'{"name": "tea", "count": 1e999}', "out of range"),
        (b'{"name": "tea", "count": 1}{}', "Extra data"),
        (b"\xff\xfe", "The body is not valid JSON"),
    ],
)
def test_invalid_json_is_a_400(json_server: HttpServer, payload: bytes, words: str) -> None:
    status, _, body = call(f"{json_server.url}/order", payload)
    assert status == 400 and body["code"] == "BadRequest"
    assert words in body["error"]


def test_unknown_routes_methods_and_large_bodies_keep_the_shape(json_server: HttpServer) -> None:
    status, _, body = call(f"{json_server.url}/nowhere")
    assert (status, body["code"]) == (404, "NotFound")
    status, headers, body = call(f"{json_server.url}/order", method="GET")
    assert (status, body["code"]) == (405, "MethodNotAllowed")
    assert "POST" in headers["allow"]
    status, _, body = call(f"{json_server.url}/order", b"[" + b"1," * 600 + b"1]")
    assert (status, body["code"]) == (413, "RequestEntityTooLarge")


def test_a_bug_is_a_500_in_the_shape_and_logged_not_sent(
    json_server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="core.httpapi"):
        status, _, body = call(f"{json_server.url}/boom")
    assert (status, body) == (500, {"error": "internal error", "code": "InternalServerError"})
    assert "GET /boom failed" in caplog.text and "a bug, with a secret" in caplog.text
    assert call(f"{json_server.url}/window")[2] == {"minutes": 60.0}


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1.5", b"0x10"])
def test_a_bad_content_length_is_refused_before_the_app_in_the_shape(
    json_server: HttpServer, length: bytes
) -> None:
    request = b"POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}"
    status, headers, body = raw(json_server, request)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "Content-Length is invalid", "code": "BadRequest"}
    assert call(f"{json_server.url}/window")[2] == {"minutes": 60.0}


def test_many_broken_requests_at_once_leave_no_thread_stuck(json_server: HttpServer) -> None:
    # More hanging connections than the server has threads, each with a negative length or a
    # body shorter than announced; a good request is answered meanwhile.
    hanging = []
    for n in range(12):
        conn = socket.create_connection((json_server.host, json_server.port), timeout=5)
        length = b"-1" if n % 2 else b"100"
        conn.sendall(b"POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{")
        hanging.append(conn)
    try:
        assert call(f"{json_server.url}/window?minutes=2")[2] == {"minutes": 2.0}
    finally:
        for conn in hanging:
            conn.close()


def test_aws_errors_carry_type_header_and_query_error(aws_server: HttpServer) -> None:
    status, headers, body = call(f"{aws_server.url}/window?minutes=nan")
    assert status == 400
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert body == {"__type": "ValidationException", "message": body["message"]}
    assert body["message"].startswith("minutes: ")
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert headers["x-amzn-query-error"] == "ValidationException;Sender"
    assert headers["x-amzn-requestid"]
    status, headers, body = call(f"{aws_server.url}/order", b"{oops")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, headers, body = call(f"{aws_server.url}/boom")
    assert (status, body["__type"]) == (500, "InternalFailure")
    assert headers["x-amzn-query-error"] == "InternalFailure;Receiver"
    status, headers, body = raw(
        aws_server, b"POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
    )
    assert status == 400 and headers["x-amzn-errortype"] == "SerializationException"
    assert json.loads(body) == {
        "__type": "SerializationException",
        "message": "Content-Length is invalid",
    }


def test_stop_frees_the_port_and_a_busy_port_names_its_setting() -> None:
    first = serve(JsonErrors(), PORT + 2)
    assert first.url == f"http://127.0.0.1:{PORT + 2}"
    with pytest.raises(BorealisError) as caught:
        HttpServer(make_app(JsonErrors()), port=PORT + 2, name="again", setting="ports.test")
    assert str(caught.value) == (
        f"again: cannot listen on 127.0.0.1:{PORT + 2} (ports.test): Address already in use"
    )
    # A keep-alive connection open at stop() does not hold the port either.
    conn = socket.create_connection((first.host, first.port), timeout=5)
    conn.sendall(b"GET /window HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b'{"minutes":60.0}\n'):  # the whole answer, head and body
        chunk = conn.recv(65536)
        assert chunk, f"closed before the whole answer: {answer!r}"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK")
    first.stop()
    assert conn.recv(65536) == b""  # closed by the server
    conn.close()
    second = serve(JsonErrors(), PORT + 2)
    try:
        assert call(f"{second.url}/window?minutes=3")[2] == {"minutes": 3.0}
    finally:
        second.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", PORT + 2), timeout=2)


def test_stopping_right_after_requests_never_trips_over_its_own_trigger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # stop() used to close the loop's wake-up pipe while a request thread could still write to
    # it (EBADF, or a byte written into whatever reused the descriptor). Many quick cycles.
    app = make_app(JsonErrors())
    with caplog.at_level(logging.ERROR):
        for _ in range(300):
            server = HttpServer(app, port=PORT + 3)
            server.start()
            assert call(f"{server.url}/window?minutes=1")[2] == {"minutes": 1.0}
            server.stop()
    assert not [r for r in caplog.records if r.name.startswith(("waitress", "core"))]


def test_a_plain_wsgi_app_keeps_waitress_own_error_pages() -> None:
    def hello(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    server = HttpServer(hello, port=PORT + 4, name="plain")
    server.start()
    try:
        status, headers, body = raw(
            server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
        )
        assert status == 400 and headers["content-type"].startswith("text/plain")
        assert b"Content-Length is invalid" in body
    finally:
        server.stop()
