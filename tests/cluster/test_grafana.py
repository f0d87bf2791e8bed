"""Every PromQL expression of every generated Grafana dashboard — panel targets, template
variables, annotations — answers with data from a real stack under load, after a failover
(the failover and restart annotations need one) and with an alarm firing.

The expressions are read from the committed JSON and their variables filled the way Grafana
fills them: each variable's own query run first, its values joined as a regex alternation.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from borealis.alarm_reload import running_pid, sighup_and_confirm
from tests.cluster.helpers import endpoint_dsn, fault, healthy
from tests.conftest import STACK_PORTS, Stack, stack_processes, wait_for
from tests.grafana_json import annotations, load_dashboards, substitute, targets, variables

pytestmark = pytest.mark.cluster

# The upper half of the shared stack's block (a stack listens on base+32 to base+93): below
# 32768, out of Linux's ephemeral ports, for any base the suite allows.
GRAFANA_PORTS = STACK_PORTS + 500
WINDOW_S = 600  # the range the panels are asked for, the last 10 minutes
QUERY_THREADS = 8  # queries in flight at once, as a browser's Grafana sends them
# An alarm that fires while any instance is up, so the alert panels and the alarm annotation
# have something to show whichever alarm pack the stack runs.
PROBE_RULES = {
    "groups": [
        {
            "name": "grafana-acceptance",
            "rules": [
                {
                    "alert": "GrafanaAcceptanceProbe",
                    "expr": "max by (cluster) (borealis_up) == 1",
                    "labels": {"severity": "info"},
                    "annotations": {"summary": "The Grafana acceptance test's probe alarm."},
                }
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def loaded(shared_tmp: Path) -> Iterator[Stack]:
    """A stack of its own (a writer, 2 readers) with `borealis up`'s light workload on."""
    state_dir = shared_tmp / "grafana"
    running = Stack(
        state_dir,
        {
            "BOREALIS_PORTS__BASE": str(GRAFANA_PORTS),
            # Beside the state directory, removed with it (not a leftover in /var/lib/borealis).
            "BOREALIS_PG_ROOT": str(shared_tmp / "grafana-pg"),
        },
    )
    done = running.cli("up", "--detach", "--readers", "2", timeout=300)
    if done.returncode != 0:
        running.cli("down", timeout=180)
        pytest.fail(f"borealis up failed: {done.stderr}")
    yield running
    done = running.cli("down", timeout=180)
    assert done.returncode == 0, done.stderr
    assert stack_processes(running.state_dir) == []


def _api(url: str, path: str, params: dict[str, Any]) -> Any:
    query = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{query}", timeout=30) as response:  # noqa: S310
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def _stack_time(url: str) -> float:
    return float(_api(url, "query", {"query": "time()"})["result"][0])


@dataclass(frozen=True)
class Dashboard:
    """One dashboard opened in Grafana: its time range (the last 10 minutes, one `end` for
    every query of it, as Grafana sends one range per refresh) and its variables' values."""

    url: str
    end: float
    values: dict[str, str]

    def range(self, expr: str) -> list[Any]:
        params = {"query": expr, "start": self.end - WINDOW_S, "end": self.end, "step": 5}
        return list(_api(self.url, "query_range", params)["result"])

    def instant(self, expr: str) -> list[Any]:
        return list(_api(self.url, "query", {"query": expr, "time": self.end})["result"])

    def label_values(self, query: str) -> list[str]:
        """Grafana's `label_values(selector, label)`: the label's values on the selected
        series."""
        inner = query.strip().removeprefix("label_values(").removesuffix(")")
        selector, label = (part.strip() for part in inner.rsplit(",", 1))
        params = {
            "match[]": substitute(selector, self.values),
            "start": self.end - WINDOW_S,
            "end": self.end,
        }
        data = _api(self.url, "series", params)
        return sorted({series[label] for series in data if series.get(label)})


def _open(url: str, end: float, model: dict[str, Any]) -> Dashboard:
    """Each variable's query, in order (later ones use earlier ones), every value chosen."""
    board = Dashboard(url, end, {"datasource": "borealis-prometheus"})
    for variable in variables(model):
        if variable["type"] != "query":
            continue
        found = board.label_values(variable["query"])
        assert found, f"{model['uid']}: variable {variable['name']} has no values"
        board.values[variable["name"]] = "(" + "|".join(found) + ")"
    return board


def _add_probe_alarm(stack: Stack) -> None:
    rule_dir = stack.state_dir / "prometheus" / "rules"
    (rule_dir / "grafana-acceptance.yml").write_text(yaml.safe_dump(PROBE_RULES))
    # No lifecycle API (issue 13): reload as the stack does, by SIGHUP to the pid file's pid.
    url = stack.prometheus_url()
    pid = running_pid(
        stack.state_dir / "run" / "prometheus.pid",
        stack.state_dir / "prometheus" / "prometheus.yml",
    )
    assert pid is not None
    sighup_and_confirm(
        "Prometheus",
        url,
        pid,
        prefix="prometheus",
        took=lambda: "grafana-acceptance" in _rule_groups(url),
    )


def _rule_groups(url: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/api/v1/rules", timeout=10) as response:  # noqa: S310
        return {g["name"] for g in json.loads(response.read())["data"]["groups"]}


def _empty_expressions(url: str) -> list[str]:
    """Every dashboard opened and every query of it asked, as Grafana does on a refresh: the
    dashboards side by side, each one's panel and annotation queries in parallel once its
    variables are filled (a pass is a few hundred queries)."""
    end = _stack_time(url)
    empty: list[str] = []
    with ThreadPoolExecutor(max_workers=QUERY_THREADS) as pool:
        models = load_dashboards()
        opened = {uid: pool.submit(_open, url, end, model) for uid, model in models.items()}
        asked: list[tuple[str, Future[list[Any]]]] = []
        for uid, model in models.items():
            try:
                board = opened[uid].result()
            except AssertionError as exc:
                empty.append(str(exc))
                continue
            for title, target in targets(model):
                expr = substitute(target["expr"], board.values)
                ask = board.instant if target.get("instant") else board.range
                asked.append((f"{uid}: {title}: {expr}", pool.submit(ask, expr)))
            for annotation in annotations(model):
                expr = substitute(annotation["expr"], board.values)
                name = f"{uid}: annotation {annotation['name']}: {expr}"
                asked.append((name, pool.submit(board.range, expr)))
        empty += [name for name, answer in asked if not answer.result()]
    return empty


@contextmanager
def always_active(stack: Stack) -> Iterator[None]:
    """A session always active on the writer, through the writer endpoint (so on the new
    writer after the failover): the light workload's statements are short, so a 1 s sampler
    may take minutes to find one of them active, and the panels of DB load by SQL digest show
    nothing until it does (a CI run). On from the start, so they have data before the fault."""
    dsn = endpoint_dsn(stack, "writer")
    done = threading.Event()

    def sleeper() -> None:
        while not done.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    while not done.is_set():
                        conn.execute("select pg_sleep(2)")
            except psycopg.Error:  # the failover: connect again shortly
                done.wait(1)

    busy = threading.Thread(target=sleeper, name="grafana-sleeper", daemon=True)
    busy.start()
    try:
        yield
    finally:
        done.set()
        busy.join(10)


def test_every_grafana_expression_has_data_after_a_failover(loaded: Stack) -> None:
    dashboards = load_dashboards()
    assert len(dashboards) >= 9
    assert sum(len(targets(model)) for model in dashboards.values()) > 80
    assert sum(len(annotations(model)) for model in dashboards.values()) >= 4
    healthy(loaded)
    with always_active(loaded):
        _add_probe_alarm(loaded)
        _fail_over(loaded)
        last: list[str] = []

        def all_have_data() -> bool:
            last[:] = _empty_expressions(loaded.prometheus_url())
            return not last

        try:
            wait_for(all_have_data, 240, interval=2, what="every panel")
        except AssertionError:
            pytest.fail("Grafana expressions without data:\n" + "\n".join(last))


def _fail_over(stack: Stack) -> None:
    """The writer killed once Prometheus has had every instance's role and start time for
    20 s (the failover and restart annotations compare what comes after with that); back
    when the old writer is available again, as a reader: a restart."""
    instances = len(stack.status()["instances"])

    def recorded_before_the_fault() -> bool:
        return all(
            len(stack.prometheus(f"max_over_time({series}[5m] offset 20s)")) >= instances
            for series in ("borealis_instance_is_writer", "borealis_postmaster_start_time_seconds")
        )

    wait_for(recorded_before_the_fault, 120, interval=1, what="roles recorded before the fault")
    old = stack.writer()
    assert fault(stack, "kill-writer")["instance"] == old["id"]
    wait_for(lambda: stack.writer()["id"] != old["id"], 120, what="a new writer")
    healthy(stack)
