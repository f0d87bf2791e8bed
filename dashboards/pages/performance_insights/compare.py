"""Two periods side by side: period A is the shared range, period B the same window a day or
a week earlier or any absolute range; load by the chosen dimension for each (each with its
Max vCPU line, on one y scale) and the top movers between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards import pi_figures
from dashboards.context import UiContext
from dashboards.data import DataUnavailable
from dashboards.pages.performance_insights import view
from dashboards.pages.performance_insights.state import PiState, period_b
from dashboards.timerange import TimeRange, input_text


@dataclass(frozen=True)
class Comparison:
    shown: bool
    figure_a: Any = None
    figure_b: Any = None
    movers: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""


def _title(period: str, start: float, end: float) -> str:
    return f"Period {period}: {input_text(start)} to {input_text(end)} UTC"


def compare(ctx: UiContext, identifier: str | None, state: PiState) -> Comparison:
    if state.compare == "off":
        return Comparison(False)
    start_a, end_a = ctx.bounds()
    b = period_b(state, start_a, end_a)
    found = view.dimension_of(state.group)
    if b is None:
        return Comparison(True, status="Period B: give a start and an end, the start first")
    if found is None:
        return Comparison(True, status=view.unknown_dimension(state.group))
    if ctx.pi is None or not identifier:
        return Comparison(True, status=view.no_instance(ctx))
    start_b, end_b = b
    _, dimension = found
    try:
        loads, slices, vcpus = [], [], []
        for start, end in ((start_a, end_a), (start_b, end_b)):
            loads.append(ctx.pi.load_by(identifier, state.group, dimension, start, end))
            slices.append(ctx.pi.slices(identifier, state.group, dimension, start, end))
            vcpus.append(ctx.pi.max_vcpu(identifier, start, end))
    except DataUnavailable as exc:
        return Comparison(True, status=str(exc))
    figures = [
        pi_figures.db_load_figure(
            series,
            vcpu,
            title=_title(name, start, end),
            group=state.group,
            x_range=TimeRange(start, end, "").x_range(),
            revision=f"{name}:{start:.0f}:{end:.0f}",
        )
        for name, series, vcpu, (start, end) in zip(
            "AB", loads, vcpus, ((start_a, end_a), (start_b, end_b)), strict=True
        )
    ]
    # One y scale for both, so that heights compare.
    top = max([v for s in loads for v in _stacked_max(s)] + [v or 0.0 for v in vcpus] + [1.0])
    for figure in figures:
        figure.update_yaxes(range=[0, top * 1.1], autorange=False)
    return Comparison(True, figures[0], figures[1], pi_figures.movers(slices[0], slices[1]))


def _stacked_max(series: list[Any]) -> list[float]:
    """The highest point of a stack of series sharing timestamps."""
    totals: dict[float, float] = {}
    for s in series:
        for when, value in zip(s.times, s.values, strict=True):
            totals[when] = totals.get(when, 0.0) + value
    return list(totals.values())
