"""The generated Grafana dashboards: current, well-formed as Grafana's JSON model, every panel
with a datasource, unit, thresholds and a query, valid PromQL, and the CloudWatch-names set
over series the recording rules really make."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as md

from alerts import generate as rules_generate
from alerts.cloudwatch import CLUSTER_METRICS, INSTANCE_METRICS, cloudwatch_snake
from dashboards import palette, queries
from dashboards.grafana import generate
from dashboards.grafana.provisioning import (
    ALERTMANAGER_UID,
    CHECKOUT_DASHBOARDS,
    PROMETHEUS_UID,
    write_provisioning,
)
from dashboards.queries import health
from dashboards.queries.cloudwatch import UNITS
from dashboards.queries.model import render
from tests.binaries import require_binary
from tests.grafana_json import (
    BUILTINS,
    DEPLOY,
    annotations,
    load_dashboards,
    panels,
    substitute,
    targets,
    used_variables,
    variables,
)

DASHBOARDS = load_dashboards()
BOARDS = {board.uid: board for board in queries.BOARDS}


def test_committed_files_are_what_the_generator_writes() -> None:
    for name, text in generate.generated_files().items():
        assert (DEPLOY / name).read_text() == text, "run python -m dashboards.grafana.generate"
    assert set(DASHBOARDS) == {board.uid for board in queries.BOARDS}


def test_check_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "DEPLOY", tmp_path)
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0
    stale = tmp_path / "dashboards" / "borealis-io.json"
    stale.write_text(stale.read_text().replace("Read IOPS", "Read ops"))
    assert generate.main(["--check"]) == 1


def test_dashboard_uids_titles_and_schema() -> None:
    titles = [model["title"] for model in DASHBOARDS.values()]
    assert len(set(titles)) == len(titles)
    for uid, model in DASHBOARDS.items():
        assert model["uid"] == uid
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid)  # Grafana's uid limit
        assert model["schemaVersion"] >= 39
        assert "borealis" in model["tags"]
        ids = [p["id"] for p in model["panels"]]
        assert len(set(ids)) == len(ids), uid


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_panel_has_datasource_unit_thresholds_and_a_query(uid: str) -> None:
    model = DASHBOARDS[uid]
    assert panels(model)
    for panel in panels(model):
        where = f"{uid}: {panel['title']}"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["unit"], where
        steps = defaults["thresholds"]["steps"]
        assert steps[0]["value"] is None and len(steps) >= 2, where  # a base and a step
        values = [s["value"] for s in steps[1:]]
        assert values == sorted(values), where
        assert panel["targets"], where
        for target in panel["targets"]:
            assert target["expr"].strip(), where
            assert target["datasource"]["uid"] == "${datasource}", where
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs), where


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_panels_fit_the_grid_without_overlapping(uid: str) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in DASHBOARDS[uid]["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{uid}: {panel['title']} overlaps"
                cells.add((x, y))


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_template_variables_are_defined_and_used(uid: str) -> None:
    model = DASHBOARDS[uid]
    defined = {v["name"]: v for v in variables(model)}
    assert set(defined) == {"datasource", *BOARDS[uid].variables}
    assert defined["datasource"]["type"] == "datasource"
    assert defined["datasource"]["query"] == "prometheus"
    assert defined["datasource"]["current"]["value"] == PROMETHEUS_UID
    for name in BOARDS[uid].variables:
        variable = defined[name]
        assert variable["type"] == "query" and variable["includeAll"] and variable["multi"]
        assert variable["query"].startswith("label_values(")
        assert variable["datasource"]["uid"] == "${datasource}"
    texts = [t["expr"] for _, t in targets(model)] + [a["expr"] for a in annotations(model)]
    texts += [v.get("query", "") for v in variables(model) if v["type"] == "query"]
    used = set().union(*(used_variables(t) for t in texts))
    assert used - BUILTINS == set(defined) - {"datasource"}, uid


def _all_exprs() -> list[tuple[str, str]]:
    values = {"cluster": ".*", "instance": ".*", "role": ".*", "datasource": PROMETHEUS_UID}
    out = []
    for uid, model in DASHBOARDS.items():
        texts = [(p, t["expr"]) for p, t in targets(model)]
        texts += [(a["name"], a["expr"]) for a in annotations(model)]
        texts += [
            (v["name"], v["query"].removeprefix("label_values(").rsplit(",", 1)[0])
            for v in variables(model)
            if v["type"] == "query"
        ]
        out += [(f"{uid}: {where}", substitute(expr, values)) for where, expr in texts]
    return out


def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each expression (as a recording rule) with variables substituted."""
    exprs = _all_exprs()
    rules = [{"record": f"check:expr_{i}", "expr": expr} for i, (_, expr) in enumerate(exprs)]
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}))
    done = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _recorded_series() -> set[str]:
    rules = rules_generate.FILES["cloudwatch-recording.yml"]()
    return {r["record"] for g in rules["groups"] for r in g["rules"]}  # type: ignore[index]


@pytest.mark.parametrize("board", queries.CLOUDWATCH_BOARDS, ids=lambda b: b.uid)
def test_cloudwatch_boards_use_only_recorded_aws_rds_series(board: Any) -> None:
    recorded = _recorded_series()
    model = DASHBOARDS[board.uid]
    texts = [t["expr"] for _, t in targets(model)]
    texts += [v["query"] for v in variables(model) if v["type"] == "query"]
    for text in texts:
        names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", text))
        names |= set(re.findall(r"label_values\((\w+)", text))
        assert names, text
        assert all(n.startswith("aws_rds_") for n in names), text
        assert names <= recorded, names - recorded


def test_every_cloudwatch_metric_has_a_panel_in_its_cloudwatch_unit() -> None:
    """Each metric of the recording rules has a panel, in the Grafana unit of its CloudWatch
    unit (IOPS metrics as `iops`)."""
    instance_model = DASHBOARDS["borealis-cloudwatch-instances"]
    by_series = {
        re.match(r"aws_rds_(\w+)_average", t["expr"]).group(1): p  # type: ignore[union-attr]
        for p in panels(instance_model)
        for t in p["targets"]
    }
    for metric in INSTANCE_METRICS:
        panel = by_series[cloudwatch_snake(metric.name)]
        unit = panel["fieldConfig"]["defaults"]["unit"]
        expected = "iops" if metric.name.endswith("IOPS") else UNITS[metric.unit]
        assert unit == expected, metric.name
    cluster_exprs = " ".join(
        t["expr"] for _, t in targets(DASHBOARDS["borealis-cloudwatch-cluster"])
    )
    for metric in CLUSTER_METRICS:
        assert f"aws_rds_{cloudwatch_snake(metric.name)}_" in cluster_exprs, metric.name


def test_provisioning_names_the_datasources_the_dashboards_use() -> None:
    sources = yaml.safe_load((DEPLOY / "provisioning/datasources/borealis.yml").read_text())
    by_uid = {s["uid"]: s for s in sources["datasources"]}
    assert by_uid[PROMETHEUS_UID]["type"] == "prometheus"
    assert by_uid[ALERTMANAGER_UID]["type"] == "alertmanager"
    assert by_uid[ALERTMANAGER_UID]["jsonData"]["implementation"] == "prometheus"
    # compose's Grafana container sets these; tests/unit/test_compose.py expands them.
    assert [s["url"] for s in sources["datasources"]] == [
        "${PROMETHEUS_URL}",
        "${ALERTMANAGER_URL}",
    ]
    providers = yaml.safe_load((DEPLOY / "provisioning/dashboards/borealis.yml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["folder"] == "Borealis"
    assert provider["options"]["path"] == "${GRAFANA_DASHBOARDS_DIR}"


def test_a_stack_gets_provisioning_with_its_own_urls(tmp_path: Path) -> None:
    """What `borealis up` writes: the same shape as the compose files, with its URLs."""
    root = write_provisioning(
        tmp_path / "provisioning", "http://127.0.0.1:10090", "http://127.0.0.1:10093", DEPLOY
    )
    sources = yaml.safe_load((root / "datasources/borealis.yml").read_text())
    compose = yaml.safe_load((DEPLOY / "provisioning/datasources/borealis.yml").read_text())
    assert [s["url"] for s in sources["datasources"]] == [
        "http://127.0.0.1:10090",
        "http://127.0.0.1:10093",
    ]
    for mine, theirs in zip(sources["datasources"], compose["datasources"], strict=True):
        assert {**mine, "url": None} == {**theirs, "url": None}
    providers = yaml.safe_load((root / "dashboards/borealis.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == str(DEPLOY)
    assert CHECKOUT_DASHBOARDS == DEPLOY / "dashboards"


def test_the_dash_ui_runs_the_same_expressions_as_grafana() -> None:
    """A Dash panel's PromQL is the Grafana panel's with every instance chosen."""
    grafana = {
        p["title"]: p["targets"][0]["expr"] for model in DASHBOARDS.values() for p in panels(model)
    }
    for panel in (queries.REPLICA_LAG, queries.READ_IOPS, queries.DB_LOAD_BY_WAIT):
        everything = re.sub(r',?\w+=~"\$\w+"', "", grafana[panel.title]).replace("{}", "")
        assert everything.replace("$__rate_interval", "10s") == panel.expr


# What Grafana's Prometheus annotations read beyond the SDK's annotation model.
PROMETHEUS_ANNOTATION_KEYS = {"titleFormat", "tagKeys", "step", "useValueForTime"}


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_json_round_trips_through_grafanas_dashboard_model(uid: str) -> None:
    """The SDK's model of Grafana's schema reads every field back unchanged (but the
    Prometheus annotation fields it has no model for)."""
    model = DASHBOARDS[uid]
    again = json.loads(json.dumps(md.Dashboard.from_json(model), cls=JSONEncoder))
    for entry in model["annotations"]["list"]:
        if "expr" in entry:
            assert set(entry) >= PROMETHEUS_ANNOTATION_KEYS
    expected = json.loads(json.dumps(model))
    for entry in expected["annotations"]["list"]:
        for key in PROMETHEUS_ANNOTATION_KEYS:
            entry.pop(key, None)
    assert again == expected


def test_failover_and_restart_annotations_mark_a_change_across_a_long_gap(
    tmp_path: Path,
) -> None:
    """A reader promoted after 100 s without samples (longer than any changes() window), and
    the old writer back as a reader with a new postmaster: each marked right after the
    change, for 15 s, and not before."""
    instance = 'cluster="c1",db_instance="i2",job="borealis",instance="x",az="local-1b"'
    old = 'cluster="c1",db_instance="i1",job="borealis",instance="x",az="local-1a"'
    series = {
        f'borealis_instance_is_writer{{{instance},role="reader"}}': "0x24 stale",
        f'borealis_instance_is_writer{{{instance},role="writer"}}': "_x44 1x20",
        f'borealis_postmaster_start_time_seconds{{{old},role="writer"}}': "1000x24 stale",
        f'borealis_postmaster_start_time_seconds{{{old},role="reader"}}': "_x44 2000x20",
    }
    cases = []
    for annotation, who in ((health.FAILOVER, "i2"), (health.RESTART, "i1")):
        expr = f"count by (db_instance) ({render(annotation.expr, '', '10s')})"
        for at, marked in (("200s", False), ("220s", True), ("230s", True), ("240s", False)):
            samples = [{"labels": f'{{db_instance="{who}"}}', "value": 1}] if marked else []
            cases.append({"expr": expr, "eval_time": at, "exp_samples": samples})
    rules = tmp_path / "none.yml"
    rules.write_text("groups: []\n")
    spec = {
        "rule_files": [str(rules)],
        "evaluation_interval": "5s",
        "tests": [
            {
                "interval": "5s",
                "input_series": [{"series": k, "values": v} for k, v in series.items()],
                "promql_expr_test": cases,
            }
        ],
    }
    path = tmp_path / "annotations.yml"
    path.write_text(yaml.safe_dump(spec))
    done = subprocess.run(
        [require_binary("promtool"), "test", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def wait_panels() -> list[tuple[str, dict[str, Any]]]:
    """(dashboard uid, panel) for every committed panel with a series named by its wait type."""
    return [
        (uid, panel)
        for uid, model in DASHBOARDS.items()
        for panel in panels(model)
        if any("{{wait_event_type}}" in t.get("legendFormat", "") for t in panel["targets"])
    ]


def fixed_colors(panel: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(matcher id, matcher option, fixed colour) of the panel's colour overrides."""
    return [
        (o["matcher"]["id"], o["matcher"]["options"], p["value"]["fixedColor"])
        for o in panel["fieldConfig"]["overrides"]
        for p in o["properties"]
        if p["id"] == "color" and p["value"].get("mode") == "fixed"
    ]


def color_of(panel: dict[str, Any], series_name: str) -> str | None:
    """The fixed colour Grafana gives the series `series_name`: the first override matching it
    by name or by regular expression (Grafana applies them in order; a later one would win,
    so exactly one must match)."""
    found = [
        color
        for kind, option, color in fixed_colors(panel)
        if (kind == "byName" and option == series_name)
        or (kind == "byRegexp" and re.search(option, series_name))
    ]
    assert len(found) <= 1, (panel["title"], series_name, found)
    return found[0] if found else None


def test_db_load_by_wait_panels_use_the_consoles_colour_per_wait_type() -> None:
    found = wait_panels()
    titles = {(uid, p["title"]) for uid, p in found}
    assert ("borealis-overview", "DB load by wait event type (AAS)") in titles
    assert ("borealis-performance-insights", "DB load by wait type, with Max vCPU") in titles
    assert ("borealis-performance-insights", "DB load by wait event") in titles
    for uid, panel in found:
        by_event = any(
            "{{wait_event_type}}:{{wait_event}}" in t.get("legendFormat", "")
            for t in panel["targets"]
        )
        for wait_type, color in palette.WAIT_TYPE_COLORS.items():
            names = [f"{wait_type}:SomeEvent", f"{wait_type}:{wait_type}"] if by_event else []
            for name in [wait_type, *names]:
                assert color_of(panel, name) == color, (uid, panel["title"], name)
        # Not a wait: Grafana's own palette (the Max vCPU line keeps its red override).
        assert color_of(panel, "select 1") is None
        assert color_of(panel, "Max vCPU") in (None, "red")
        # One colour override per wait type, none for a type the console does not know.
        colored = {c for _, _, c in fixed_colors(panel)} - {"red"}
        assert colored == set(palette.WAIT_TYPE_COLORS.values()), (uid, panel["title"])
