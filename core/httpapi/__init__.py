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

(`HttpServer` takes the error shape from the `api_app`; pass `errors=` for another WSGI app.)

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

from core.httpapi.app import (
    MAX_BODY,
    api_app,
    install_error_handlers,
    json_body,
    json_model,
    query_model,
)
from core.httpapi.auth import BasicAuth, hash_password
from core.httpapi.errors import (
    ApiError,
    AwsJsonErrors,
    ErrorShape,
    JsonErrors,
    RequestModel,
    describe_validation,
)
from core.httpapi.server import HttpServer

__all__ = [
    "MAX_BODY",
    "ApiError",
    "AwsJsonErrors",
    "BasicAuth",
    "ErrorShape",
    "HttpServer",
    "JsonErrors",
    "RequestModel",
    "api_app",
    "describe_validation",
    "hash_password",
    "install_error_handlers",
    "json_body",
    "json_model",
    "query_model",
]
