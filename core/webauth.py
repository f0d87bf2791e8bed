"""Who may call the stack's HTTP services when `auth:` is on: the users from the settings
(name -> bcrypt hash, inline or from `users_file`) plus one internal user the stack's own
parts use to call each other. The internal password is generated at first use and kept in
the state directory (mode 0600), never in settings.json or logs."""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.httpapi.auth import hash_password
from core.paths import StatePaths
from core.settings_sections import AuthSettings

if TYPE_CHECKING:
    from core.settings import Settings

INTERNAL_USER = "borealis-internal"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT_LENGTH = 60


def is_bcrypt_hash(value: str) -> bool:
    return value.startswith(BCRYPT_PREFIXES) and len(value) == _BCRYPT_LENGTH


def read_users_file(path: Path) -> dict[str, str]:
    """`name:bcrypt-hash` lines (htpasswd -B format); `#` comments and blank lines skipped;
    a wrong line names file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"auth.users_file: cannot read {path}: {exc.strerror}") from None
    users: dict[str, str] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, digest = line.partition(":")
        if not colon or not name or not is_bcrypt_hash(digest):
            raise ConfigError(
                f"{path}:{number}: expected name:<bcrypt hash> (make one with "
                "`borealis hash-password`)"
            )
        users[name] = digest
    return users


def validate_auth(auth: AuthSettings) -> None:
    for name, digest in auth.users.items():
        if not is_bcrypt_hash(digest):
            raise ConfigError(
                f"auth.users.{name}: not a bcrypt hash (make one with `borealis hash-password`)"
            )
        if name == INTERNAL_USER or ":" in name or not name:
            raise ConfigError(
                f"auth.users.{name}: a user name may not be empty, hold ':' or be {INTERNAL_USER}"
            )
    if auth.users_file:
        read_users_file(Path(auth.users_file))


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def listen_warning(settings: Settings) -> str | None:
    """What the log should say when the HTTP services listen off loopback: they serve plain
    HTTP, so basic-auth passwords and data cross the network readable."""
    if is_loopback(settings.listen_host):
        return None
    return (
        f"the HTTP services listen on {settings.listen_host}, not loopback, without TLS: "
        "passwords and data cross the network in clear text; put a TLS-terminating reverse "
        "proxy in front"
    )


def auth_enabled(settings: Settings) -> bool:
    return settings.auth.enabled


def configured_users(settings: Settings) -> dict[str, str]:
    """The users of the settings (inline and from the file), name -> bcrypt hash."""
    users = dict(settings.auth.users)
    if settings.auth.users_file:
        users.update(read_users_file(Path(settings.auth.users_file)))
    return users


def internal_password_file(paths: StatePaths) -> Path:
    return paths.root / "internal-http-password"


def internal_password(paths: StatePaths) -> str:
    """The internal user's password, made (0600) at first use; two processes making it at
    once agree (the file appears whole, by a hard link, and the first one wins)."""
    path = internal_password_file(paths)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        os.chmod(path, 0o600)
    return path.read_text().strip()


def service_users(settings: Settings, internal_hash: str | None = None) -> dict[str, str] | None:
    """The users an HTTP service of this stack admits (None: auth is off)."""
    if not auth_enabled(settings):
        return None
    users = configured_users(settings)
    users[INTERNAL_USER] = internal_hash or hash_password(internal_password(settings.state_paths()))
    return users


def internal_header(settings: Settings) -> dict[str, str]:
    """The Authorization header the stack's own clients send (empty when auth is off)."""
    if not auth_enabled(settings):
        return {}
    return basic_header(INTERNAL_USER, internal_password(settings.state_paths()))


def basic_header(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
