"""Grafana dashboards from the shared query definitions, with grafana-foundation-sdk.

Every panel and variable reads the Prometheus chosen by the `datasource` variable (by uid;
provisioned as `borealis-prometheus`); the cluster, instance and role variables filter every
expression through its `$scope`, and rates use Grafana's `$__rate_interval`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as gp
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, StackingConfig
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as md
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.grafana.provisioning import PROMETHEUS_UID
from dashboards.palette import WAIT_TYPE_COLORS
from dashboards.queries.model import (
    Annotation,
    Board,
    Panel,
    Query,
    grafana_legend,
    render,
)

DATASOURCE_VARIABLE = "datasource"
DATASOURCE = md.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
RATE_INTERVAL = "$__rate_interval"
PANEL_HEIGHT = 8
GRID_WIDTH = 24
ANNOTATION_STEP = "5s"

PanelBuilder = timeseries.Panel | stat.Panel | table.Panel | statetimeline.Panel


def scope_matchers(board: Board) -> str:
    """`cluster=~"$cluster",db_instance=~"$instance",role=~"$role"` for the board's labels."""
    return ",".join(f'{label}=~"${variable}"' for variable, label in board.scope)


def grafana_expr(expr: str, board: Board) -> str:
    return render(expr, scope_matchers(board), RATE_INTERVAL)


def _target(query: Query, ref_id: str, board: Board) -> gp.Dataquery:
    target = (
        gp.Dataquery()
        .expr(grafana_expr(query.expr, board))
        .ref_id(ref_id)
        .datasource(DATASOURCE)
        .legend_format(grafana_legend(query.legend) or "__auto")
    )
    if query.instant:
        return target.instant().format(PromQueryFormat.TABLE)
    return target.range()


def _thresholds(panel: Panel) -> gd.ThresholdsConfig:
    steps = [md.Threshold(value=None, color=panel.base_color)]
    steps += [md.Threshold(value=value, color=color) for value, color in panel.thresholds]
    return gd.ThresholdsConfig().mode(md.ThresholdsMode.ABSOLUTE).steps(steps)


def _limit_line(name: str) -> list[md.DynamicConfigValue]:
    """A dashed red line outside the stack (PI's Max vCPU)."""
    return [
        md.DynamicConfigValue("custom.stacking", {"group": "A", "mode": "none"}),
        md.DynamicConfigValue("custom.fillOpacity", 0),
        md.DynamicConfigValue("custom.lineStyle", {"dash": [10, 10], "fill": "dash"}),
        md.DynamicConfigValue("color", {"fixedColor": "red", "mode": "fixed"}),
    ]


def _fixed_color(color: str) -> list[md.DynamicConfigValue]:
    return [md.DynamicConfigValue("color", {"fixedColor": color, "mode": "fixed"})]


def wait_type_pattern(wait_type: str) -> str:
    """The series names of one wait type's events (`IO:DataFileRead`) and of the type itself."""
    return f"^{re.escape(wait_type)}(:.*)?$"


def _wait_colors(series: timeseries.Panel, slices: str) -> timeseries.Panel:
    """The console's colour for every wait type (dashboards/palette.py): by series name when
    the panel is sliced by wait type, by a name pattern (`IO:...`) when by wait event."""
    for wait_type, color in WAIT_TYPE_COLORS.items():
        if slices == "type":
            series = series.override_by_name(wait_type, _fixed_color(color))
        else:
            series = series.override_by_regexp(wait_type_pattern(wait_type), _fixed_color(color))
    return series


# Tables show instant values: the time column says nothing.
HIDE_TIME = md.DataTransformerConfig(
    id_val="organize", options={"excludeByName": {"Time": True}, "renameByName": {}}
)


def _by_thresholds() -> gd.FieldColor:
    return gd.FieldColor().mode(md.FieldColorModeId.THRESHOLDS)


def _visual(panel: Panel) -> PanelBuilder:
    if panel.kind == "stat":
        return (
            stat.Panel()
            .color_mode(common.BigValueColorMode.BACKGROUND)
            .color_scheme(_by_thresholds())
        )
    if panel.kind == "table":
        return table.Panel().with_transformation(HIDE_TIME)
    if panel.kind == "state":
        return statetimeline.Panel().color_scheme(_by_thresholds())
    series = timeseries.Panel().fill_opacity(30 if panel.stacked else 10).line_width(1)
    series = series.thresholds_style(
        GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
    )
    if panel.stacked:
        series = series.stacking(StackingConfig().mode(common.StackingMode.NORMAL))
    if panel.wait_slices is not None:
        series = _wait_colors(series, panel.wait_slices)
    for name in panel.limit_lines:
        series = series.override_by_name(name, _limit_line(name))
    return series


def panel_builder(panel: Panel, board: Board, panel_id: int, x: int, y: int) -> PanelBuilder:
    built = (
        _visual(panel)
        .id(panel_id)
        .title(panel.title)
        .datasource(DATASOURCE)
        .unit(panel.unit)
        .thresholds(_thresholds(panel))
        .grid_pos(md.GridPos(h=PANEL_HEIGHT, w=panel.width, x=x, y=y))
    )
    if panel.description:
        built = built.description(panel.description)
    if panel.minimum is not None:
        built = built.min(panel.minimum)
    if panel.maximum is not None:
        built = built.max(panel.maximum)
    for index, query in enumerate(panel.queries):
        built = built.with_target(_target(query, chr(ord("A") + index), board))
    return built


def _variables(board: Board) -> list[Builder[md.VariableModel]]:
    datasource = (
        gd.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Prometheus")
        .type("prometheus")
        .current(md.VariableOption(text="Borealis Prometheus", value=PROMETHEUS_UID))
    )
    out: list[Builder[md.VariableModel]] = [datasource]
    cluster_label = board.scope[0][1]
    for variable, label in board.scope:
        if variable not in board.variables:
            continue
        matchers = "" if variable == "cluster" else f'{{{cluster_label}=~"$cluster"}}'
        all_value = board.all_instances if variable == "instance" else ".*"
        out.append(
            gd.QueryVariable(variable)
            .label(variable.capitalize())
            .datasource(DATASOURCE)
            .query(f"label_values({board.variable_source}{matchers}, {label})")
            .refresh(md.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(md.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(all_value)
            .current(md.VariableOption(text="All", value="$__all"))
        )
    return out


def _annotation(annotation: Annotation, board: Board) -> gd.AnnotationQuery:
    return (
        gd.AnnotationQuery()
        .name(annotation.name)
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color(annotation.color)
        .expr(grafana_expr(annotation.expr, board))
    )


def dashboard_builder(board: Board) -> gd.Dashboard:
    built = (
        gd.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(list(board.tags))
        .editable()
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("browser")
        .tooltip(md.DashboardCursorSync.CROSSHAIR)
        .variables(_variables(board))
        .annotations(
            [
                gd.AnnotationQuery()
                .name("Annotations & Alerts")
                .datasource(md.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                .enable(True)
                .hide(True)
                .icon_color("rgba(0, 211, 255, 1)")
                .type("dashboard")
                .built_in(1),
                *(_annotation(a, board) for a in board.annotations),
            ]
        )
    )
    y, panel_id = 0, 0
    for title, panels in board.rows:
        panel_id += 1
        row = gd.Row(title).id(panel_id).grid_pos(md.GridPos(h=1, w=GRID_WIDTH, x=0, y=y))
        built = built.with_row(row)
        y += 1
        x = 0
        for panel in panels:
            if x + panel.width > GRID_WIDTH:
                x, y = 0, y + PANEL_HEIGHT
            panel_id += 1
            built = built.with_panel(panel_builder(panel, board, panel_id, x, y))
            x += panel.width
        y += PANEL_HEIGHT
    return built


def dashboard_json(board: Board) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model; Prometheus annotations get the fields the
    SDK has no setter for (title format, tags, step)."""
    model: dict[str, Any] = json.loads(
        json.dumps(dashboard_builder(board).build(), cls=JSONEncoder)
    )
    by_name = {a.name: a for a in board.annotations}
    for entry in model["annotations"]["list"]:
        annotation = by_name.get(entry["name"])
        if annotation is not None:
            entry["titleFormat"] = grafana_legend(annotation.title)
            entry["tagKeys"] = "cluster,db_instance,alertname"
            entry["step"] = ANNOTATION_STEP
            entry["useValueForTime"] = False
    return model


def render_json(board: Board) -> str:
    return json.dumps(dashboard_json(board), indent=2, sort_keys=True) + "\n"
