"""Off loopback only behind a login: `listen_host` off 127.0.0.0/8 is refused with auth off
(one line naming the setting and what allows it), accepted with `auth:` users, and logged as
plain HTTP without TLS."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from borealis.startup import warn_if_exposed
from core.errors import ConfigError
from core.httpapi.auth import hash_password
from core.settings import load_settings
from core.webauth import is_loopback, listen_warning
from tests.conftest import borealis
from tests.unit.test_cli_input import one_line_error

ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the address under test, never bound here
LAN_ADDRESS = "192.0.2.10"  # TEST-NET-1: off loopback, never bound here


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "borealis.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("host", [ALL_INTERFACES, LAN_ADDRESS, "::", "db.example"])
def test_off_loopback_without_auth_is_refused_naming_the_setting(host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"BOREALIS_LISTEN_HOST": host})
    message = str(refused.value)
    assert f"listen_host {host!r} is not a loopback address and auth is off" in message
    assert "auth.users" in message and "auth.users_file" in message


def test_the_cli_refuses_it_in_one_line(tmp_path: Path) -> None:
    done = borealis(
        "status", "--state-dir", str(tmp_path), env={"BOREALIS_LISTEN_HOST": ALL_INTERFACES}
    )
    line = one_line_error(done, 1)
    assert "listen_host '0.0.0.0' is not a loopback address and auth is off" in line


def test_off_loopback_with_auth_is_accepted(tmp_path: Path) -> None:
    inline = _config(tmp_path, f'auth:\n  users:\n    ops: "{hash_password("pw")}"\n')
    settings = load_settings(
        config_file=inline, environ={"BOREALIS_LISTEN_HOST": ALL_INTERFACES}, overrides={}
    )
    assert settings.listen_host == ALL_INTERFACES and settings.auth.enabled
    users_file = tmp_path / "users"
    users_file.write_text(f"ops:{hash_password('pw')}\n")
    from_file = load_settings(
        environ={"BOREALIS_LISTEN_HOST": LAN_ADDRESS, "BOREALIS_AUTH__USERS_FILE": str(users_file)}
    )
    assert from_file.listen_host == LAN_ADDRESS
    # The CLI gets past the settings with it: the next line is about the (absent) stack.
    done = borealis(
        "status",
        "--state-dir",
        str(tmp_path / "state"),
        "--config",
        str(inline),
        env={"BOREALIS_LISTEN_HOST": ALL_INTERFACES},
    )
    assert "no Borealis cluster" in one_line_error(done, 1)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_auth_and_gets_no_warning(host: str) -> None:
    assert is_loopback(host)
    settings = load_settings(environ={"BOREALIS_LISTEN_HOST": host})
    assert listen_warning(settings) is None


def test_listening_off_loopback_is_logged_as_plain_http(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path, f'auth:\n  users:\n    ops: "{hash_password("pw")}"\n')
    settings = load_settings(config_file=config, environ={"BOREALIS_LISTEN_HOST": LAN_ADDRESS})
    with caplog.at_level(logging.WARNING, logger="borealis.startup"):
        warn_if_exposed(settings)
        warn_if_exposed(load_settings(environ={}))  # loopback: nothing
    assert [record.getMessage() for record in caplog.records] == [
        f"up: the HTTP services listen on {LAN_ADDRESS}, not loopback, without TLS: passwords "
        "and data cross the network in clear text; put a TLS-terminating reverse proxy in front"
    ]
