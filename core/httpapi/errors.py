"""Errors of the HTTP APIs: `ApiError` for a refusal, and one `ErrorShape` per API that says
how it looks on the wire (see core.httpapi)."""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus

from flask import Response
from pydantic import BaseModel, ConfigDict, ValidationError
from werkzeug.exceptions import HTTPException


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
        elif error["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = "Input should be an object"  # not pydantic's name of our model class
        else:
            message = error["msg"]
        parts.append(f"{where}: {message}" if where else message)
    if exc.error_count() > limit:
        parts.append(f"and {exc.error_count() - limit} more")
    return "; ".join(parts)
