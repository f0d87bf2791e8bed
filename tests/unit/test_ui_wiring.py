"""How the console's callbacks are wired: what each page's data follows (the refresh timer, the
shared range, the instance filter). Read from the app's callback map; no browser, no server."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards import ids
from dashboards.app import create_app
from dashboards.context import UiContext
from dashboards.pages import overview


@pytest.fixture(scope="module")
def callback_inputs() -> dict[str, set[str]]:
    """Each output (`id.property`) -> the inputs (`id.property`) of the callback writing it."""
    app = create_app(UiContext(prometheus=None, collector=None, refresh_ms=1000))  # type: ignore[arg-type]
    out: dict[str, set[str]] = {}
    for callback in app.callback_map.values():
        inputs = {f"{i['id']}.{i['property']}" for i in callback["inputs"]}
        for output in outputs_of(callback):
            out.setdefault(output, set()).update(inputs)
    return out


def outputs_of(callback: dict[str, Any]) -> list[str]:
    found = callback["output"]
    return [
        f"{o.component_id}.{o.component_property}"
        for o in (found if isinstance(found, list) else [found])
    ]


TIMER = f"{ids.REFRESH}.n_intervals"
FILTER = f"{ids.INSTANCE_FILTER}.value"


@pytest.mark.parametrize(
    "output",
    [
        f"{ids.PI_LOAD_GRAPH}.figure",
        f"{ids.PI_DRILL_GRAPH}.figure",
        f"{ids.PI_DRILL_STATS}.figure",
        f"{ids.PI_DRILL_TABLE}.data",
        f"{ids.LOAD_GRAPH}.figure",
        f"{ids.EVENTS_TABLE}.data",
        f"{ids.EVENTS_TIMELINE}.figure",
    ],
)
def test_live_data_follows_the_refresh_timer(
    callback_inputs: dict[str, set[str]], output: str
) -> None:
    assert TIMER in callback_inputs[output]


def test_pausing_disables_the_timer(callback_inputs: dict[str, set[str]]) -> None:
    assert callback_inputs[f"{ids.REFRESH}.disabled"] == {f"{ids.REFRESH_PAUSE}.value"}


@pytest.mark.parametrize(
    "output",
    [
        f"{ids.TOPOLOGY}.children",
        f"{ids.OVERVIEW_NUMBERS}.data",
        f"{ids.LOAD_GRAPH}.figure",
        f"{overview.OVERVIEW_EVENTS}.data",
        f"{ids.EVENTS_TABLE}.data",
        f"{ids.EVENTS_TIMELINE}.figure",
        f"{ids.IO_STATUS}.children",
        f"{ids.PI_LOAD_GRAPH}.figure",
    ],
)
def test_every_page_follows_the_instance_filter(
    callback_inputs: dict[str, set[str]], output: str
) -> None:
    assert FILTER in callback_inputs[output]
