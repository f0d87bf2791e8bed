"""What a panel is, whoever draws it: PromQL, legend, unit and thresholds.

An expression marks with `$scope` where the chosen cluster/instance/role filters go (inside a
selector's braces: `{$scope}` or `{role="reader",$scope}`) and with `$window` where a rate's
window goes. The Dash UI fills them with nothing and `10s`; Grafana with its template
variables and `$__rate_interval`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCOPE = "$scope"
WINDOW = "$window"
DASH_WINDOW = "10s"

# Grafana unit ids -> the axis title the Dash UI shows.
UNIT_LABELS = {
    "ms": "ms",
    "s": "seconds",
    "bytes": "bytes",
    "Bps": "bytes/s",
    "ops": "ops/s",
    "iops": "I/O ops/s",
    "percent": "%",
    "short": "",
    "none": "",
    "dtdurations": "seconds",
}

GREEN, ORANGE, RED, BLUE = "green", "orange", "red", "blue"
# The legends of series sliced by wait type and by wait event.
WAIT_TYPE_LEGEND = "{wait_event_type}"
WAIT_EVENT_LEGEND = "{wait_event_type}:{wait_event}"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""  # a format string with {label} fields; "" for a single unnamed series
    instant: bool = False  # tables: one value per series, now


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str  # a Grafana unit id (UNIT_LABELS)
    # The colour below the first step, then (value, colour) steps: at or above value.
    thresholds: tuple[tuple[float, str], ...] = ()
    base_color: str = GREEN
    description: str = ""
    kind: str = "timeseries"  # timeseries | stat | table | state
    stacked: bool = False
    minimum: float | None = None
    maximum: float | None = None
    width: int = 12
    # Lines drawn dashed and red (e.g. the Max vCPU line), by legend.
    limit_lines: tuple[str, ...] = field(default=())

    @property
    def expr(self) -> str:
        """The first query as the Dash UI runs it: every instance, a 10 s window."""
        return render(self.queries[0].expr, "", DASH_WINDOW)

    @property
    def dash_queries(self) -> tuple[tuple[str, str], ...]:
        """Every query as the Dash UI runs it, with its legend."""
        return self.dash_queries_for("")

    def dash_queries_for(self, matchers: str) -> tuple[tuple[str, str], ...]:
        """Every query as the Dash UI runs it for `matchers` (the instance filter; "" for
        every instance), with its legend."""
        return tuple((render(q.expr, matchers, DASH_WINDOW), q.legend) for q in self.queries)

    @property
    def legend(self) -> str:
        return self.queries[0].legend

    @property
    def wait_slices(self) -> str | None:
        """What the panel's series are named after when they are waits: `type` (one series
        per wait type) or `event` (`type:event`); None for any other panel. Both the console
        and Grafana colour such series with the wait palette."""
        legends = {q.legend for q in self.queries}
        if WAIT_EVENT_LEGEND in legends:
            return "event"
        if WAIT_TYPE_LEGEND in legends:
            return "type"
        return None

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit, self.unit)


@dataclass(frozen=True)
class Annotation:
    name: str
    expr: str
    title: str  # a format string with {label} fields
    color: str


@dataclass(frozen=True)
class Board:
    """One dashboard: its uid, the label names its variables filter on, panels in rows."""

    uid: str
    title: str
    description: str
    rows: tuple[tuple[str, tuple[Panel, ...]], ...]
    scope: tuple[tuple[str, str], ...]  # (variable, label): cluster, instance, role
    variable_source: str  # the series whose labels fill the variables
    annotations: tuple[Annotation, ...] = ()
    tags: tuple[str, ...] = ("borealis",)
    all_instances: str = ".*"  # the instance variable's All: ".+" to leave out aggregates
    variables: tuple[str, ...] = ("cluster", "instance", "role")  # those its panels filter on

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(panel for _, panels in self.rows for panel in panels)


def render(expr: str, matchers: str, window: str) -> str:
    """`expr` with `$scope` replaced by `matchers` (`a=~"x", b=~"y"`, or "" for none) and
    `$window` by `window`."""
    if matchers:
        out = expr.replace(SCOPE, matchers)
    else:
        out = expr.replace("{" + SCOPE + "}", "").replace("," + SCOPE + "}", "}")
    if SCOPE in out:
        raise ValueError(f"$scope outside a selector's braces: {expr}")
    return out.replace(WINDOW, window)


def grafana_legend(legend: str) -> str:
    """Python's `{label}` as Grafana's `{{label}}`."""
    return re.sub(r"\{(\w+)\}", r"{{\1}}", legend)
