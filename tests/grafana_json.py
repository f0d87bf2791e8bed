"""Reading the committed Grafana dashboards the way Grafana does: panels, targets, template
variables, annotations, and the substitution of variables into an expression."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "grafana"
DASHBOARDS = DEPLOY / "dashboards"
BUILTINS = {"__rate_interval", "__interval", "__range", "__all"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but the rows, collapsed rows' panels included."""
    out = []
    for panel in model["panels"]:
        if panel["type"] == "row":
            out += panel.get("panels", [])
        else:
            out.append(panel)
    return out


def targets(model: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["title"], t) for p in panels(model) for t in p["targets"]]


def variables(model: dict[str, Any]) -> list[dict[str, Any]]:
    return list(model["templating"]["list"])


def annotations(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The Prometheus annotation queries (not Grafana's built-in one)."""
    return [a for a in model["annotations"]["list"] if "expr" in a]


def used_variables(text: str) -> set[str]:
    return {a or b for a, b in VARIABLE.findall(text)}


def substitute(expr: str, values: dict[str, str], rate_interval: str = "10s") -> str:
    """`expr` as Grafana sends it: `$__rate_interval` and each `$name`/`${name}` replaced."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name == "__rate_interval":
            return rate_interval
        return values[name]

    return VARIABLE.sub(value, expr)
