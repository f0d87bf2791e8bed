"""A password in a targets file's DSN leaves no trace in anything a stack watching targets
writes or serves.

Planted: a `pg_monitor` role's password in the DSNs of `up --targets` (key=value for the
primary, a URI for the standby and for a third target nothing listens at, whose connection
errors become events), and the same password in a failed login on the primary. Searched, once
the targets are seen (series in Prometheus, the failed login and the dead target as events):
every file under the state directory (logs, SQLite stores, settings, Prometheus' data,
Grafana provisioning), the collector's /metrics, /api/events and /api/targets, the PI API,
Prometheus' series and targets, the UI's pages, and `status` and `events` as the CLI prints
them."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.conftest import LIFECYCLE_PORTS, Stack, wait_for
from testsupport.pgpair import Pair, start_pair

pytestmark = pytest.mark.cluster

PAIR_PORT = LIFECYCLE_PORTS + 740  # nothing else of the cluster tier listens at base+740..742
DEAD_PORT = LIFECYCLE_PORTS + 742  # a target nobody listens at
STACK_PORTS = LIFECYCLE_PORTS + 200  # services at base+260..295
CLUSTER = "grep-pg"
ROLE = "grep_monitor"
PASSWORD = "Dsn-sekrit-5821"
RESOURCE_ID = "db-GREPPRIMARY"
# Its URI form too (percent-encoding would hide it from a plain search; it needs none).
assert urllib.parse.quote(PASSWORD, safe="") == PASSWORD


def get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{url}: {exc.code} {exc.read()[:500]!r}") from None


def leaks(where: str, data: bytes) -> list[str]:
    return [f"the DSN password in {where}"] if PASSWORD.encode() in data else []


def targets_file(pair: Pair, path: Path) -> Path:
    primary = make_conninfo(
        host="127.0.0.1",
        port=pair.primary.port,
        user=ROLE,
        password=PASSWORD,
        dbname="postgres",
        connect_timeout=3,
    )
    standby = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{pair.standby.port}/postgres"
    dead = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{DEAD_PORT}/postgres?connect_timeout=2"
    path.write_text(
        f"clusters:\n  - id: {CLUSTER}\n    instances:\n"
        f'      - id: {pair.primary.name}\n        dsn: "{primary}"\n'
        f"        resource_id: {RESOURCE_ID}\n"
        f"        az: local-1a\n        log_dir: {pair.primary.log_dir}\n"
        f'      - id: {pair.standby.name}\n        dsn: "{standby}"\n'
        f"        az: local-1b\n        log_dir: {pair.standby.log_dir}\n"
        f"  - id: gone-pg\n    instances:\n"
        f'      - id: gone-instance\n        dsn: "{dead}"\n        az: local-1c\n'
    )
    return path


@pytest.fixture(scope="module")
def watched(shared_tmp: Path) -> Iterator[tuple[Stack, Pair]]:
    root = shared_tmp / "secret-targets"
    pair = start_pair(root.with_name("secret-targets-pair"), PAIR_PORT)
    try:
        pair.primary.sql(
            f"create role {ROLE} login password '{PASSWORD}'; grant pg_monitor to {ROLE}"
        )
        root.mkdir()
        targets = targets_file(pair, root / "targets.yaml")
        env = {
            "BOREALIS_PORTS__BASE": str(STACK_PORTS),
            "BOREALIS_PG_BIN": str(root / "no-postgresql-here"),
            "BOREALIS_PG_ROOT": str(root / "no-data-root"),
        }
        stack = Stack(root / "state", env)
        done = stack.cli("up", "--detach", "--targets", str(targets), timeout=180)
        try:
            assert done.returncode == 0, done.stderr
            yield stack, pair
        finally:
            down = stack.cli("down", timeout=120)
            assert down.returncode == 0, down.stderr
    finally:
        pair.stop_all()


def failed_login(pair: Pair) -> None:
    with contextlib.suppress(psycopg.OperationalError):
        psycopg.connect(
            make_conninfo(
                host="127.0.0.1",
                port=pair.primary.port,
                user="no_such_role",
                password=PASSWORD,
                dbname="postgres",
                connect_timeout=3,
            )
        ).close()


def test_a_dsn_password_appears_nowhere(watched: tuple[Stack, Pair]) -> None:
    stack, pair = watched
    start = time.time()
    failed_login(pair)
    services = stack.status()["services"]
    for name in (pair.primary.name, pair.standby.name):
        wait_for(
            lambda name=name: stack.prometheus(
                f'borealis_up{{cluster="{CLUSTER}",db_instance="{name}"}} == 1'
            ),
            90,
            what=f"{name} up in Prometheus (its DSN works)",
        )

    def seen() -> list[dict[str, Any]] | None:
        events = stack.events(minutes=10)
        by = {(e["EventId"], e["SourceIdentifier"]) for e in events}
        wanted = {
            ("BOREALIS-EVENT-0101", pair.primary.name),  # the failed login, from the log
            ("BOREALIS-EVENT-0152", "gone-instance"),  # the dead target's connection error
        }
        return events if wanted <= by else None

    events = wait_for(seen, 90, what="the failed login and the unreachable target as events")
    found: list[str] = []
    found += leaks("events", json.dumps(events).encode())
    collector = services["collector"]
    targets = get(f"{collector}/api/targets")
    listed = {t["db_instance"]: t for t in json.loads(targets)["targets"]}
    assert f"user={ROLE}" in listed[pair.primary.name]["dsn"]  # the DSN is shown, sans password
    assert "gone-instance" in listed
    found += leaks("collector /api/targets", targets)
    found += leaks("collector /metrics", get(f"{collector}/metrics"))
    found += leaks("collector /api/events", get(f"{collector}/api/events?minutes=60"))
    body = {
        "ServiceType": "RDS",
        "Identifier": RESOURCE_ID,
        "StartTime": start - 60,
        "EndTime": time.time() + 5,
        "Metric": "db.load.avg",
        "GroupBy": {"Group": "db.user"},
    }
    headers = {
        "X-Amz-Target": "PerformanceInsightsv20180227.DescribeDimensionKeys",
        "Content-Type": "application/x-amz-json-1.1",
    }
    found += leaks("PI API", get(services["pi"], json.dumps(body).encode(), headers))
    prometheus = services["prometheus"]
    series = get(
        f"{prometheus}/api/v1/series?"
        + urllib.parse.urlencode({"match[]": '{__name__=~".+"}', "start": str(start - 600)})
    )
    assert CLUSTER.encode() in series and b"gone-instance" in series
    found += leaks("Prometheus series", series)
    found += leaks("Prometheus targets", get(f"{prometheus}/api/v1/targets"))
    for page in ("", "pi", "events", "alerts"):
        with contextlib.suppress(OSError):
            found += leaks(f"UI /{page}", get(f"{services['ui']}/{page}"))
    for command in (["status"], ["status", "--json"], ["events", "--minutes", "60"]):
        printed = stack.cli(*command, timeout=60)
        assert printed.returncode == 0, printed.stderr
        found += leaks(
            f"`borealis {' '.join(command)}`", (printed.stdout + printed.stderr).encode()
        )
    files = [p for p in sorted(stack.state_dir.rglob("*")) if p.is_file() and not p.is_symlink()]
    assert any(p.name == "collector.log" for p in files)
    for path in files:
        with contextlib.suppress(OSError):
            found += leaks(str(path.relative_to(stack.state_dir)), path.read_bytes())
    assert found == []
