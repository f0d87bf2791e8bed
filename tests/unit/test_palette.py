"""One colour per wait type across every page; wait events in their type's hue."""

from __future__ import annotations

import colorsys

from dashboards import palette
from dashboards.context import UiContext
from dashboards.data import Series
from dashboards.pages.panels import panel_figures
from dashboards.queries import DB_LOAD_BY_WAIT


def hue(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(red, green, blue)[0]


def test_each_wait_type_has_its_own_fixed_colour() -> None:
    assert palette.wait_color("CPU") == "#3eb649"
    assert palette.wait_color("IO") == "#1f77b4"
    assert palette.wait_color("Lock") == "#d62728"
    assert palette.wait_color("LWLock") == "#ff7f0e"
    assert len(set(palette.WAIT_TYPE_COLORS.values())) == len(palette.WAIT_TYPE_COLORS)
    assert palette.wait_color("select 1") is None


def test_a_wait_event_is_a_shade_of_its_type() -> None:
    for event in ("IO:DataFileRead", "IO:WALWrite", "Lock:transactionid", "LWLock:WALInsert"):
        shade = palette.wait_color(event)
        base = palette.WAIT_TYPE_COLORS[event.partition(":")[0]]
        assert shade is not None and shade.startswith("#") and len(shade) == 7
        assert abs(hue(shade) - hue(base)) < 0.02, event
        assert palette.wait_color(event) == shade  # the same on every call and page
    assert palette.wait_color("IO:DataFileRead") != palette.wait_color("IO:WALWrite")


def test_other_slices_keep_a_colour_fixed_by_their_name() -> None:
    assert palette.color_for("alice", waits=False) == palette.color_for("alice", waits=False)
    assert palette.color_for("other") == palette.OTHER_COLOR
    assert palette.color_for("CPU", waits=False) in palette.NAMED_COLORS


class OnePrometheus:
    """Answers every range query with the same series (a pure fake for the unit tier)."""

    def __init__(self, series: list[Series]) -> None:
        self.series = series

    def query_range(self, *_: object) -> list[Series]:
        return self.series


def test_the_pages_wait_graphs_use_the_palette() -> None:
    found = [Series({"wait_event_type": name}, (1.0,), (1.0,)) for name in ("CPU", "IO", "Lock")]
    ctx = UiContext(prometheus=OnePrometheus(found), collector=None, refresh_ms=1000)  # type: ignore[arg-type]
    [figure] = panel_figures(ctx, [DB_LOAD_BY_WAIT])
    assert {t.name: t.line.color for t in figure.data} == {
        "CPU": "#3eb649",
        "IO": "#1f77b4",
        "Lock": "#d62728",
    }


def test_instances_get_distinct_colours_fixed_by_their_sorted_names() -> None:
    names = [f"borealis-instance-{n}" for n in range(1, 17)]
    colours = palette.instance_colors(reversed(names))
    assert list(colours) == sorted(names)
    assert len(set(colours.values())) == 16  # Plotly's ten default colours would repeat
    assert palette.instance_colors([*names, names[0]]) == colours  # the same on every graph
    assert set(colours.values()) <= set(palette.INSTANCE_COLORS)
