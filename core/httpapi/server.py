"""waitress, threaded, from a background thread: the server of every Borealis HTTP API
(see core.httpapi)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

from core.errors import BorealisError
from core.httpapi.app import MAX_BODY, SHAPE_KEY
from core.httpapi.auth import BasicAuth
from core.httpapi.errors import ApiError, ErrorShape

log = logging.getLogger(__name__)


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
        users: Mapping[str, str] | None = None,
    ) -> None:
        """`users` (name -> bcrypt hash): basic auth in front of `app` (core.httpapi.auth)."""
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
        if errors is None:  # an api_app's own shape; None: waitress' text pages (the UI)
            errors = getattr(app, "extensions", {}).get(SHAPE_KEY)
        served = BasicAuth(app, users, errors) if users else app
        try:
            self._server: Any = _Server(
                served, map={}, adj=adjustments
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
