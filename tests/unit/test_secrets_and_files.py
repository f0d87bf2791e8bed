"""Secrets stay secret; the state directory's JSON files are validated; the data root is
found again and never shared."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from cluster import pgconf, pgctl
from cluster.layout import check_ownership, check_reachable
from collector.targets import Target
from core.credentials import Credentials
from core.errors import BorealisError, ConfigError
from core.paths import DEFAULT_DATA_PARENT, StatePaths, default_pg_root, resolve_pg_root
from core.topology import Topology, plan_topology


def test_secrets_file_is_forced_to_0600_even_when_it_exists(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    Credentials.generate().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_loading_secrets_closes_a_file_someone_opened_up(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    saved = Credentials.generate()
    saved.save(path)
    os.chmod(path, 0o644)
    assert Credentials.load(path) == saved
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_password_in_reprs() -> None:
    credentials = Credentials.generate()
    shown = repr(credentials) + str(credentials)
    for password in (credentials.superuser, credentials.replicator, credentials.monitor):
        assert password not in shown
    assert credentials.app not in shown
    target = Target("c", "c-1", "host=127.0.0.1 user=monitor password=s3cret-pw dbname=x")
    assert "s3cret-pw" not in repr(target)
    assert "s3cret-pw" not in target.safe_dsn
    assert "c-1" in repr(target)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "Invalid JSON"),
        ('{"superuser": "a", "replicator": "b", "monitor": "c"}', "app: Field required"),
        ('{"superuser": 1, "replicator": "b", "monitor": "c", "app": "d"}', "superuser"),
        ("[]", "Input should be an object"),
    ],
)
def test_corrupt_secrets_is_one_line_without_the_values(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        Credentials.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and problem in message
    assert "restore it from a backup" in message
    assert '"b"' not in message and "'b'" not in message  # no value is echoed


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("writer_id"), "writer_id: Field required"),
        (lambda d: d["instances"][0].update(port="5432"), "instances.0.port"),
        (lambda d: d.update(instances="x"), "instances"),
        (lambda d: d.update(writer_id="nobody"), "writer_id names no instance"),
    ],
)
def test_corrupt_topology_is_one_line(tmp_path: Path, change: object, problem: str) -> None:
    path = tmp_path / "topology.json"
    data = plan_topology("demo", "local-1", 1, 5000).to_json()
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        Topology.load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and problem in message


def test_topology_round_trips(tmp_path: Path) -> None:
    topology = plan_topology("demo", "local-1", 2, 5000)
    topology.save(tmp_path / "topology.json")
    assert Topology.load(tmp_path / "topology.json") == topology


def test_default_data_root_differs_per_state_dir_and_is_recorded(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / ".borealis", tmp_path / "b" / ".borealis"
    first = resolve_pg_root(one, "borealis", None)
    assert first.parent == DEFAULT_DATA_PARENT and first.name.startswith("borealis-")
    assert first == default_pg_root(one, "borealis")
    assert first != resolve_pg_root(two, "borealis", None)
    assert resolve_pg_root(one, "borealis", tmp_path / "mine") == tmp_path / "mine"
    # Once recorded, the data root is found again whatever the settings say.
    one.mkdir(parents=True)
    (one / "pg-root").write_text(f"{tmp_path / 'recorded'}\n")
    assert resolve_pg_root(one, "other", tmp_path / "mine") == tmp_path / "recorded"
    assert StatePaths(one).pg == tmp_path / "recorded"
    (one / "pg-root").write_text("relative/path\n")
    with pytest.raises(ConfigError, match="absolute path"):
        resolve_pg_root(one, "borealis", None)


def test_a_state_dir_of_the_old_layout_keeps_its_pg_directory(tmp_path: Path) -> None:
    (tmp_path / "pg").mkdir()
    assert resolve_pg_root(tmp_path, "borealis", None) == tmp_path / "pg"


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A directory every user can enter (pytest's own are mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="borealis-unit-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unreachable_data_root_says_which_directory_and_what_to_do(open_tmp: Path) -> None:
    private = open_tmp / "home"
    private.mkdir(mode=0o700)
    user = pgctl.OsUser.lookup("postgres")
    with pytest.raises(BorealisError) as caught:
        check_reachable(private / "checkout" / "pg", user)
    message = str(caught.value)
    assert f"cannot enter {private} (mode 0o700)" in message
    assert "BOREALIS_PG_ROOT" in message and f"chmod o+x {private}" in message
    os.chmod(private, 0o711)
    check_reachable(private / "checkout" / "pg", user)


def test_a_data_root_serves_one_state_dir(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    mine = StatePaths(tmp_path / "mine", root)
    check_ownership(mine)  # empty: fine
    (root / "stray").write_text("x")
    with pytest.raises(BorealisError, match="not made by Borealis"):
        check_ownership(mine)
    (root / ".borealis-state-dir").write_text(f"{tmp_path / 'theirs'}\n")
    with pytest.raises(BorealisError, match="belongs to the Borealis stack in"):
        check_ownership(mine)
    (root / ".borealis-state-dir").write_text(f"{(tmp_path / 'mine').resolve()}\n")
    check_ownership(mine)


def test_replication_dsn_survives_odd_paths(tmp_path: Path) -> None:
    paths = StatePaths(tmp_path, Path("/var/lib/bo real'is/x"))
    writer = plan_topology("demo", "local-1", 1, 5000).writer
    dsn = pgconf.replication_dsn(writer, paths, "demo-instance-2")
    assert conninfo_to_dict(dsn)["passfile"] == "/var/lib/bo real'is/x/pgpass"
    assert pgconf.conf_quote("a'b\\c") == "'a''b\\\\c'"
