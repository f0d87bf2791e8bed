"""The one HTTP stack every Borealis API is served with: Flask for routing, pydantic for
request models, waitress (threaded) as the server.

The pattern, for an API of your own (the collector's JSON API and the Performance Insights
API are built this way; a CloudWatch-style API and a webhook follow it)::

    class EventsQuery(RequestModel):
        minutes: float = Field(60, gt=0, le=MAX_MINUTES)

    def create_app(store: EventStore) -> Flask:
        app = api_app("collector", JsonErrors())           # or AwsJsonErrors(...)

        @app.get("/api/events")
        def events() -> dict[str, Any]:
            query = query_model(EventsQuery)                # or json_model(Model)
            return {"Events": store.list(minutes=query.minutes)}

        return app

    server = HttpServer(create_app(store), port=8080, name="collector", setting="ports.x")
    server.start(); ...; server.stop()                      # stop() frees the port

Handlers never catch bad input themselves. A request that does not fit its model raises
pydantic's `ValidationError`; a handler that refuses raises `ApiError(status, code, message)`;
invalid JSON (NaN and Infinity included), an unknown route or method and a too-large body are
werkzeug `HTTPException`s; and what waitress refuses before the app sees it (a non-numeric or
negative Content-Length, a malformed request line) never reaches Flask. `api_app` and
`HttpServer` send every one of these through the API's `ErrorShape`, so each becomes a 4xx in
that API's own error body by construction; anything else is logged and becomes a 500 in the
same shape, never a traceback on the wire.

Error shapes: `JsonErrors` (`{"error": message, "code": code}`) for Borealis' own APIs;
`AwsJsonErrors` for AWS JSON 1.0/1.1 protocols (`{"__type": code, "message": message}`,
`x-amzn-ErrorType`, `x-amzn-RequestId`, and with `query_compatible=True` the
`x-amzn-query-error: Code;Sender` header that awsQueryCompatible services such as CloudWatch
send when a client speaks JSON 1.0 with `x-amzn-query-mode: true`).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ConfigDict, ValidationError
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from werkzeug.exceptions import BadRequest, HTTPException

from core.errors import BorealisError

__all__ = [
    "ApiError",
    "AwsJsonErrors",
    "ErrorShape",
    "HttpServer",
    "JsonErrors",
    "RequestModel",
    "api_app",
    "describe_validation",
    "json_body",
    "json_model",
    "query_model",
]

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # bytes; larger request bodies get a 413 before they are read
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """A request the API refuses: HTTP status, the API's error code, a message for the user."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class RequestModel(BaseModel):
    """Base for request models: finite numbers only, unknown fields ignored, immutable."""

    model_config = ConfigDict(allow_inf_nan=False, extra="ignore", frozen=True)


# --- error shapes ---------------------------------------------------------------------------


class ErrorShape:
    """How one API says no: the body and headers of every error it answers."""

    content_type = "application/json"
    validation_code = "ValidationError"  # the code of a request that does not fit its model

    def code_for(self, status: int) -> str:
        """The code of an error raised below the handlers (routing, JSON decoding, size)."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            return "Error"
        return phrase.title().replace(" ", "").replace("-", "")

    def body(self, error: ApiError) -> bytes:
        return json.dumps({"error": error.message, "code": error.code}).encode() + b"\n"

    def headers(self, error: ApiError) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type)]

    def from_validation(self, exc: ValidationError) -> ApiError:
        return ApiError(400, self.validation_code, describe_validation(exc))

    def from_http(self, exc: HTTPException) -> ApiError:
        status = exc.code or 500
        return ApiError(status, self.code_for(status), exc.description or exc.name)

    def response(self, error: ApiError, extra: list[tuple[str, str]] | None = None) -> Response:
        headers = [*self.headers(error), *(extra or [])]
        return Response(self.body(error), status=error.status, headers=headers)


class JsonErrors(ErrorShape):
    """Borealis' own JSON APIs: `{"error": "what to change", "code": "..."}`."""


class AwsJsonErrors(ErrorShape):
    """AWS JSON 1.0/1.1 errors: `{"__type": code, "message": ...}` with `x-amzn-ErrorType`."""

    def __init__(
        self,
        version: str = "1.1",
        *,
        validation_code: str = "ValidationException",
        bad_request_code: str = "SerializationException",
        query_compatible: bool = False,
    ) -> None:
        self.content_type = f"application/x-amz-json-{version}"
        self.validation_code = validation_code
        self.bad_request_code = bad_request_code
        self.query_compatible = query_compatible

    def code_for(self, status: int) -> str:
        if status == 400:
            return self.bad_request_code
        if status >= 500:
            return "InternalFailure"
        return super().code_for(status)

    def body(self, error: ApiError) -> bytes:
        return json.dumps({"__type": error.code, "message": error.message}).encode()

    def headers(self, error: ApiError) -> list[tuple[str, str]]:
        out = [*super().headers(error), ("x-amzn-ErrorType", error.code)]
        out.append(("x-amzn-RequestId", str(uuid.uuid4())))
        if self.query_compatible:
            fault = "Sender" if error.status < 500 else "Receiver"
            out.append(("x-amzn-query-error", f"{error.code};{fault}"))
        return out


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """One line naming each bad parameter by its path (`MetricQueries.0.Metric: ...`)."""
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            parts.append(f"Missing required parameter {where}")
            continue
        if error["type"] == "value_error" and "error" in error.get("ctx", {}):
            message = str(error["ctx"]["error"])
        else:
            message = error["msg"]
        parts.append(f"{where}: {message}" if where else message)
    if exc.error_count() > limit:
        parts.append(f"and {exc.error_count() - limit} more")
    return "; ".join(parts)


# --- Flask apps -----------------------------------------------------------------------------


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


class StrictJsonProvider(DefaultJSONProvider):
    """JSON as RFC 8259 has it: no NaN or Infinity in, none out; keys in the order given."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return json.loads(s, parse_constant=_no_constants, parse_float=_finite, **kwargs)


class ApiRequest(Request):
    """Says why a body is not JSON (Flask's own message does not, outside debug mode)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        raise BadRequest(f"The body is not valid JSON: {e}")


def api_app(name: str, errors: ErrorShape, *, max_body: int = MAX_BODY) -> Flask:
    """A Flask app whose every error is rendered in `errors`' shape (see the module doc)."""
    app = Flask(name)
    app.json = StrictJsonProvider(app)
    app.request_class = ApiRequest
    app.config["MAX_CONTENT_LENGTH"] = max_body
    install_error_handlers(app, errors)
    return app


def install_error_handlers(app: Flask, errors: ErrorShape) -> None:
    def api_error(exc: ApiError) -> Response:
        return errors.response(exc)

    def validation_error(exc: ValidationError) -> Response:
        return errors.response(errors.from_validation(exc))

    def http_error(exc: HTTPException) -> Response | HTTPException:
        if exc.code is not None and exc.code < 400:
            return exc  # a redirect (a missing trailing slash) stays one
        allow = [(k, v) for k, v in exc.get_headers() if k == "Allow"]
        return errors.response(errors.from_http(exc), allow)

    def unexpected(exc: Exception) -> Response:
        log.exception("%s: %s %s failed", app.name, request.method, request.path)
        status = 500
        return errors.response(ApiError(status, errors.code_for(status), "internal error"))

    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(ValidationError, validation_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def query_model(model: type[M]) -> M:
    """The request's query arguments (the first of each name) as `model`."""
    return model.model_validate(request.args.to_dict(flat=True))


def json_body() -> Any:
    """The request body decoded as JSON (an empty body is `{}`); invalid JSON is a 400."""
    if not request.get_data(cache=True):
        return {}
    return request.get_json(force=True)


def json_model(model: type[M]) -> M:
    """The request's JSON body as `model`."""
    return model.model_validate(json_body())


# --- the server -----------------------------------------------------------------------------


class _ShapedErrorTask(ErrorTask):
    """What waitress refuses itself (bad Content-Length, header or request line), in the
    API's error shape rather than waitress' text/plain page."""

    def execute(self) -> None:
        shape: ErrorShape | None = getattr(self.channel.server, "error_shape", None)
        if shape is None:
            super().execute()
            return
        parsed: Any = self.request  # a waitress HTTPRequestParser that holds the error
        refused = parsed.error
        error = ApiError(refused.code, shape.code_for(refused.code), str(refused.body))
        body = shape.body(error)
        self.status = f"{refused.code} {refused.reason}"
        headers: Any = self.response_headers
        headers.extend(shape.headers(error))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _ShapedErrorTask


class _Server(TcpWSGIServer):
    channel_class = _Channel
    error_shape: ErrorShape | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        except OSError:  # the port is taken: close the trigger and socket made before bind
            self.close()
            raise


WsgiApp = Callable[..., Any]


class HttpServer:
    """A WSGI app served by waitress from a background thread, on 127.0.0.1 by default.

    The socket is bound when the object is made (port 0 picks a free one: see `url`);
    `start()` serves, `stop()` closes every connection and frees the port."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "http",
        threads: int = 4,
        errors: ErrorShape | None = None,
        max_body: int = MAX_BODY,
        setting: str | None = None,
    ) -> None:
        self.name = name
        adjustments = Adjustments(
            host=host,
            port=port,
            threads=threads,
            ident=f"borealis-{name}",
            max_request_body_size=max_body,
            asyncore_use_poll=True,
            channel_timeout=60,
        )
        try:
            self._server: Any = _Server(
                app, map={}, adj=adjustments
            )  # waitress' own types are partial
        except OSError as exc:
            where = f" ({setting})" if setting else ""
            reason = exc.strerror or str(exc)
            raise BorealisError(
                f"{name}: cannot listen on {host}:{port}{where}: {reason}"
            ) from None
        self._server.error_shape = errors
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)
        self._stopped = False

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: int = 5) -> None:
        """Close the listening socket and every connection, then wait for the threads."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            # The loop owns its socket map: close the sockets from inside it, so the loop
            # finds the map empty and returns.
            self._server.trigger.pull_trigger(self._close_sockets)
            self._thread.join(timeout)
        else:
            self._close_sockets()
        idle = self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        if idle and not self._thread.is_alive():
            # Last: a request thread that finishes pulls the trigger to wake the loop; once
            # closed, its descriptor number may belong to someone else.
            self._server.trigger.close()
        else:
            log.warning(
                "%s: a request still runs %d s after stop(); left behind", self.name, timeout
            )

    def _close_sockets(self) -> None:
        for dispatcher in list(self._server._map.values()):
            if isinstance(dispatcher, HTTPChannel):
                dispatcher.handle_close()
        wasyncore.dispatcher.close(self._server)  # the listening socket, not the trigger
        self._server.trigger.del_channel()
