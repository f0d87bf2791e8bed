"""The `auth:` settings: off by default, bcrypt hashes only (a wrong value names its key or
its file line), the internal user's password made 0600 in the state directory and kept out
of settings.json, and `borealis hash-password` making entries the settings accept."""

from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

import bcrypt
import pytest

from borealis.cli import main
from core.errors import ConfigError
from core.httpapi.auth import hash_password
from core.settings import load_settings, settings_to_json
from core.webauth import (
    INTERNAL_USER,
    auth_enabled,
    internal_header,
    internal_password_file,
    service_users,
)

HASH = hash_password("s3cret")


def test_off_by_default(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path)})
    assert not auth_enabled(settings)
    assert service_users(settings) is None
    assert internal_header(settings) == {}
    assert not internal_password_file(settings.state_paths()).exists()


def test_inline_users_turn_it_on_with_the_internal_user(tmp_path: Path) -> None:
    settings = load_settings(
        config_file=_write(tmp_path, f'auth:\n  users:\n    ops: "{HASH}"\n'),
        environ={},
        overrides={"state_dir": str(tmp_path)},
    )
    users = service_users(settings)
    assert users is not None and set(users) == {"ops", INTERNAL_USER}
    secret = internal_password_file(settings.state_paths())
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text()
    assert bcrypt.checkpw(password.encode(), users[INTERNAL_USER].encode())
    assert internal_header(settings)["Authorization"].startswith("Basic ")
    assert password not in settings_to_json(settings)  # never in settings.json


def test_a_value_that_is_not_a_bcrypt_hash_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"auth\.users\.ops: not a bcrypt hash"):
        load_settings(
            config_file=_write(tmp_path, "auth:\n  users:\n    ops: plain-password\n"),
            environ={},
            overrides={"state_dir": str(tmp_path)},
        )


def test_the_internal_name_is_reserved(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=INTERNAL_USER):
        load_settings(
            config_file=_write(tmp_path, f'auth:\n  users:\n    {INTERNAL_USER}: "{HASH}"\n'),
            environ={},
            overrides={"state_dir": str(tmp_path)},
        )


def test_users_file_lines_are_read_and_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    users_file = tmp_path / "users.htpasswd"
    users_file.write_text(f"# operators\nann:{HASH}\n\nbob:{HASH}\n")
    config = _write(tmp_path, f"auth:\n  users_file: {users_file}\n")
    settings = load_settings(config_file=config, environ={}, overrides={"state_dir": str(tmp_path)})
    users = service_users(settings)
    assert users is not None and set(users) == {"ann", "bob", INTERNAL_USER}
    users_file.write_text(f"ann:{HASH}\nbob:not-a-hash\n")
    with pytest.raises(ConfigError, match=rf"{users_file}:2: expected name:<bcrypt hash>"):
        load_settings(config_file=config, environ={}, overrides={"state_dir": str(tmp_path)})


def test_hash_password_prints_a_hash_the_settings_accept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse\n"))
    assert main(["hash-password"]) == 0
    digest = capsys.readouterr().out.strip()
    assert bcrypt.checkpw(b"correct horse", digest.encode())
    config = _write(tmp_path, f'auth:\n  users:\n    ops: "{digest}"\n')
    settings = load_settings(config_file=config, environ={}, overrides={"state_dir": str(tmp_path)})
    assert auth_enabled(settings)


def test_hash_password_refuses_an_empty_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["hash-password"]) == 1
    assert "empty password" in capsys.readouterr().err


def _write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "borealis.yaml"
    config.write_text(text)
    return config
