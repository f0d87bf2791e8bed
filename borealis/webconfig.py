"""Basic auth for Prometheus and Alertmanager when the settings' `auth:` is on: their
`--web.config.file` (`basic_auth_users`: the configured bcrypt hashes and the internal
user's), and the `basic_auth` block the stack's own clients (Prometheus' scrapes and its
alerting, Alertmanager's webhook) use, the password read from the state directory's file."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.httpapi.auth import hash_password
from core.settings import Settings
from core.webauth import (
    INTERNAL_USER,
    auth_enabled,
    configured_users,
    internal_password,
    internal_password_file,
)

WEB_CONFIG = "web-config.yml"


def web_config(settings: Settings) -> dict[str, object]:
    users = configured_users(settings)
    users[INTERNAL_USER] = hash_password(internal_password(settings.state_paths()))
    return {"basic_auth_users": users}


def write_web_config(settings: Settings, directory: Path) -> Path | None:
    """`directory/web-config.yml` (0600) for `--web.config.file`; None when auth is off
    (and an older file is removed)."""
    path = directory / WEB_CONFIG
    if not auth_enabled(settings):
        path.unlink(missing_ok=True)
        return None
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(yaml.safe_dump(web_config(settings), sort_keys=True))
    return path


def client_basic_auth(settings: Settings) -> dict[str, str] | None:
    """The `basic_auth` block of a Prometheus or Alertmanager HTTP client config calling the
    stack's services (None when auth is off)."""
    if not auth_enabled(settings):
        return None
    paths = settings.state_paths()
    internal_password(paths)  # made at first use
    return {"username": INTERNAL_USER, "password_file": str(internal_password_file(paths))}
