"""The configs the stack writes when `auth:` is on: Prometheus' and Alertmanager's web config
(promtool accepts it; bcrypt hashes only, 0600), prometheus.yml's basic_auth on the
collector's and its own scrapes and on Alertmanager (promtool accepts it), Alertmanager's
webhook sending it (amtool accepts it), Grafana's datasources logging in with the password
read from its file, and none of it when auth is off."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import bcrypt
import yaml

from borealis import alertmanager, grafana, prometheus
from borealis.webconfig import write_web_config
from core.httpapi.auth import hash_password
from core.settings import Settings, load_settings
from core.webauth import INTERNAL_USER, internal_password_file
from tests.binaries import require_binary

OPS_HASH = hash_password("ops password")


def auth_settings(tmp_path: Path) -> Settings:
    config = tmp_path / "borealis.yaml"
    config.write_text(f'auth:\n  users:\n    ops: "{OPS_HASH}"\n')
    return load_settings(
        config_file=config, environ={}, overrides={"state_dir": str(tmp_path / "state")}
    )


def test_web_config_holds_bcrypt_hashes_only_and_promtool_accepts_it(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    settings = auth_settings(tmp_path)
    path = write_web_config(settings, tmp_path / "prom")
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = yaml.safe_load(path.read_text())["basic_auth_users"]
    assert users["ops"] == OPS_HASH
    password = internal_password_file(settings.state_paths()).read_text()
    assert password not in path.read_text()
    assert bcrypt.checkpw(password.encode(), users[INTERNAL_USER].encode())
    checked = subprocess.run(
        [promtool, "check", "web-config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_no_web_config_without_auth(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path)})
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "web-config.yml").write_text("basic_auth_users: {}\n")
    assert write_web_config(settings, tmp_path / "prom") is None
    assert not (tmp_path / "prom" / "web-config.yml").exists()  # an old one is gone
    spec = prometheus.service(settings, settings.state_paths())
    assert not any(arg.startswith("--web.config.file") for arg in spec.argv)
    assert spec.headers == {}
    assert "basic_auth" not in yaml.safe_dump(prometheus.config(settings, tmp_path))


def test_prometheus_scrapes_and_alerts_with_basic_auth(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    settings = auth_settings(tmp_path)
    paths = settings.state_paths()
    spec = prometheus.service(settings, paths)
    web_arg = f"--web.config.file={paths.prometheus / 'web-config.yml'}"
    assert web_arg in spec.argv
    assert spec.headers["Authorization"].startswith("Basic ")
    document = yaml.safe_load((paths.prometheus / "prometheus.yml").read_text())
    expected = {"username": INTERNAL_USER, "password_file": str(internal_password_file(paths))}
    assert [job["basic_auth"] for job in document["scrape_configs"]] == [expected, expected]
    assert document["alerting"]["alertmanagers"][0]["basic_auth"] == expected
    checked = subprocess.run(
        [promtool, "check", "config", "--syntax-only", str(paths.prometheus / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_sends_basic_auth_to_the_webhook(tmp_path: Path) -> None:
    amtool = require_binary("amtool")
    settings = auth_settings(tmp_path)
    paths = settings.state_paths()
    spec = alertmanager.service(settings, paths)
    assert f"--web.config.file={alertmanager.directory(paths) / 'web-config.yml'}" in spec.argv
    document = yaml.safe_load((alertmanager.directory(paths) / "alertmanager.yml").read_text())
    hooks = [h for r in document["receivers"] for h in r.get("webhook_configs", [])]
    assert hooks
    for hook in hooks:
        assert hook["http_config"]["basic_auth"]["username"] == INTERNAL_USER
    checked = subprocess.run(
        [amtool, "check-config", str(alertmanager.directory(paths) / "alertmanager.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_datasources_log_in_without_holding_the_password(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    paths = settings.state_paths()
    root = grafana.prepare(settings, paths)
    text = (root / "datasources" / "borealis.yml").read_text()
    password_file = internal_password_file(paths)
    assert password_file.read_text() not in text
    for source in yaml.safe_load(text)["datasources"]:
        assert source["basicAuth"] is True
        assert source["basicAuthUser"] == INTERNAL_USER
        assert source["secureJsonData"] == {"basicAuthPassword": f"$__file{{{password_file}}}"}
    plain = load_settings(environ={}, overrides={"state_dir": str(tmp_path / "plain")})
    plain_root = grafana.prepare(plain, plain.state_paths())
    assert "basicAuth" not in (plain_root / "datasources" / "borealis.yml").read_text()
