"""`borealis workload`: each scenario runs through the cluster endpoint and shows its wait
profile in Performance Insights' DB load (Prometheus)."""

from __future__ import annotations

import re

import psycopg
import pytest

from core.waiting import WaitTimeout, wait_until
from tests.conftest import Stack, wait_for

pytestmark = pytest.mark.cluster


def load(stack: Stack, writer: str, wait_event: str) -> float:
    result = stack.prometheus(
        f'sum(borealis_db_load_seconds_total{{db_instance="{writer}",wait_event="{wait_event}"}})'
    )
    return float(result[0]["value"][1]) if result else 0.0


def blocks_read(stack: Stack, writer: str) -> float:
    result = stack.prometheus(f'sum(borealis_blocks_read_total{{db_instance="{writer}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def run(stack: Stack, scenario: str, *extra: str) -> str:
    done = stack.cli("workload", "--scenario", scenario, "--duration", "3", *extra, timeout=180)
    assert done.returncode == 0, done.stderr
    assert " 0 errors" in done.stdout, done.stdout
    return done.stdout


@pytest.mark.parametrize(
    ("scenario", "wait_event", "pace"),
    [
        # Unpaced where the default rate keeps fewer than one session busy, so the 1 s
        # sampler surely sees the scenario within a few seconds.
        ("cpu", "CPU", ("--rate", "0")),
        ("row-lock", "transactionid", ()),
        ("sleep", "PgSleep", ()),
        ("commit-heavy", "SyncRep", ("--rate", "0", "--clients", "4")),
    ],
)
def test_scenario_shows_its_wait_profile(
    stack: Stack, scenario: str, wait_event: str, pace: tuple[str, ...]
) -> None:
    writer = stack.writer()["id"]
    before = load(stack, writer, wait_event)
    # A 3 s run gives the 1 s sampler three looks; a session of a short-statement scenario is
    # between statements part of the time, so on a loaded machine all three can miss it (a CI
    # run: the writer sampled every second, no `cpu` session in any sample). Run again, at
    # most three times, until a sample sees it.
    for attempt in range(1, 4):
        out = run(stack, scenario, *pace)
        assert f"{scenario}: " in out
        try:
            wait_until(
                lambda: load(stack, writer, wait_event) > before,
                timeout=15,
                what=f"DB load on {wait_event} from {scenario}",
                retry_on=(Exception,),
            )
            return
        except WaitTimeout:
            if attempt == 3:
                raise


def test_io_scenario_reads_past_shared_buffers(stack: Stack) -> None:
    writer = stack.writer()
    before = blocks_read(stack, writer["id"])
    run(stack, "io", "--rate", "0", "--clients", "2")  # builds its table first
    with psycopg.connect(stack.app_dsn(writer["port"])) as conn:
        bigger = conn.execute(
            "select pg_relation_size('wl_io') > 4 * setting::bigint * 8192 "
            "from pg_settings where name = 'shared_buffers'"
        ).fetchone()
    assert bigger == (True,)
    wait_for(
        lambda: blocks_read(stack, writer["id"]) > before + 1000,
        30,
        what="blocks read from outside shared_buffers (ReadIOPS)",
    )


def reader_commits(stack: Stack) -> float:
    result = stack.prometheus('sum(borealis_xact_commits_total{role="reader"})')
    return float(result[0]["value"][1]) if result else 0.0


def test_oltp_mix_writes_and_reads_through_both_endpoints(stack: Stack) -> None:
    before = reader_commits(stack)
    out = run(stack, "oltp", "--rate", "100")
    found = re.search(r"oltp: (\d+) transactions", out)
    assert found is not None and int(found.group(1)) > 60, out
    wait_for(lambda: reader_commits(stack) > before + 50, 30, what="reads on the readers")
