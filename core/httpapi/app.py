"""Flask apps whose every error is rendered in their API's error shape, and the helpers that
turn a request into a pydantic model (see core.httpapi)."""

from __future__ import annotations

import json
import logging
import math
from typing import Any, TypeVar

from flask import Flask, Request, Response, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException

from core.httpapi.errors import ApiError, ErrorShape

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # bytes; larger request bodies get a 413 before they are read
M = TypeVar("M", bound=BaseModel)
SHAPE_KEY = "borealis.error_shape"  # app.extensions[SHAPE_KEY]: the app's ErrorShape


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
    app.extensions[SHAPE_KEY] = errors  # HttpServer renders its own refusals with it too
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
