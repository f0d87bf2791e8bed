"""Optional HTTP basic authentication against bcrypt hashes, as WSGI middleware in front of
any Borealis app (`HttpServer(..., users=...)` applies it): a request without the right
credentials gets a 401 with `WWW-Authenticate: Basic` in the API's own error shape; the
health path stays open for supervisors and load balancers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import bcrypt

from core.httpapi.errors import ApiError, ErrorShape, JsonErrors

OPEN_PATHS = frozenset({"/healthz"})
REALM = "Borealis"
_CACHE_SIZE = 64  # credentials already checked: bcrypt costs ~0.1-0.3 s a check, by design

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def hash_password(password: str) -> str:
    """A bcrypt hash for the settings (`auth.users`)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


class BasicAuth:
    """`app` behind basic auth for `users` (name -> bcrypt hash)."""

    def __init__(
        self,
        app: WsgiApp,
        users: Mapping[str, str],
        errors: ErrorShape | None = None,
        open_paths: frozenset[str] = OPEN_PATHS,
    ) -> None:
        self.app = app
        self.users = {name: digest.encode() for name, digest in users.items()}
        self.errors = errors or JsonErrors()
        self.open_paths = open_paths
        self._checked: dict[bytes, str] = {}  # sha256 of a good header -> its user
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self.open_paths or self.allowed(
            environ.get("HTTP_AUTHORIZATION", "")
        ):
            return self.app(environ, start_response)
        error = ApiError(401, self.errors.code_for(401), "authentication required")
        headers = [*self.errors.headers(error)]
        headers.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
        start_response("401 Unauthorized", headers)
        return [self.errors.body(error)]

    def allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        key = hashlib.sha256(header.encode(errors="replace")).digest()
        with self._lock:
            if key in self._checked:
                return True
        try:
            user, colon, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        digest = self.users.get(user.decode(errors="replace"))
        if not colon or digest is None or not _matches(password, digest):
            return False
        with self._lock:
            if len(self._checked) >= _CACHE_SIZE:
                self._checked.clear()
            self._checked[key] = user.decode(errors="replace")
        return True


def _matches(password: bytes, digest: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, digest)
    except ValueError:  # not a bcrypt hash: ConfigError at load time; here, no entry
        return False
