"""One colour per wait type on every page (CPU green as in AWS Performance Insights, IO blue,
Lock red, LWLock orange, ...); a wait event takes its type's hue, a shade of its own. Anything
else (SQL, users, hosts) gets a colour fixed by its name, so it keeps it across refreshes and
across the two periods of a comparison. Pure functions; no I/O."""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Iterable

CPU = "CPU"
# PostgreSQL 15's wait event types, and CPU (a session active and not waiting).
WAIT_TYPE_COLORS: dict[str, str] = {
    CPU: "#3eb649",
    "IO": "#1f77b4",
    "Lock": "#d62728",
    "LWLock": "#ff7f0e",
    "Client": "#9467bd",
    "IPC": "#8c564b",
    "Timeout": "#7f7f7f",
    "BufferPin": "#e377c2",
    "Extension": "#17becf",
    "Activity": "#bcbd22",
}
OTHER_COLOR = "#c7c7c7"  # PI's "other" bucket, and a name we do not know
# For names that are not waits: distinct hues, none of them a wait type's.
NAMED_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#e15759",
    "#bab0ac",
    "#86bcb6",
    "#d37295",
)
# One colour per instance on a page whose graphs share one legend: 24 distinct colours (Plotly's
# Dark24), so 16 instances never share one (Plotly's default colorway has ten).
INSTANCE_COLORS = (
    "#2e91e5",
    "#e15f99",
    "#1ca71c",
    "#fb0d0d",
    "#da16ff",
    "#222a2a",
    "#b68100",
    "#750d86",
    "#eb663b",
    "#511cfb",
    "#00a08b",
    "#fb00d1",
    "#fc0080",
    "#b2828d",
    "#6c7c32",
    "#778aae",
    "#862a16",
    "#a777f1",
    "#620042",
    "#1616a7",
    "#da60ca",
    "#6c4516",
    "#0d2a63",
    "#af0038",
)
# How far (in HLS lightness) a wait event may be from its type's colour.
SHADE_SPREAD = 0.18


def wait_type_of(name: str) -> str | None:
    """The wait type of a wait type or wait event name (`CPU`, `Lock`, `Lock:transactionid`);
    None for a name that is not a wait."""
    wait_type = name.partition(":")[0]
    return wait_type if wait_type in WAIT_TYPE_COLORS else None


def wait_color(name: str) -> str | None:
    """The colour of a wait type (its own) or a wait event (a shade of its type's, fixed by
    the event's name); None when `name` is not a wait."""
    wait_type = wait_type_of(name)
    if wait_type is None:
        return None
    base = WAIT_TYPE_COLORS[wait_type]
    _, _, event = name.partition(":")
    if not event or event == wait_type:
        return base
    return _shade(base, _unit(event) * 2 - 1)


def color_for(name: str, waits: bool = True) -> str:
    """The colour of one slice: a wait's (when `waits`) or one fixed by the name."""
    if name in ("", "other", "(none)"):
        return OTHER_COLOR
    found = wait_color(name) if waits else None
    if found is not None:
        return found
    return NAMED_COLORS[zlib.crc32(name.encode()) % len(NAMED_COLORS)]


def instance_colors(names: Iterable[str]) -> dict[str, str]:
    """A colour per distinct name, in sorted order: the same instances get the same colours on
    every graph of a page and on every refresh while the cluster keeps its instances."""
    return {
        name: INSTANCE_COLORS[i % len(INSTANCE_COLORS)] for i, name in enumerate(sorted(set(names)))
    }


def is_wait_group(group: str) -> bool:
    """Whether a PI dimension group's slices are waits (coloured by wait type)."""
    return group in ("db.wait_event", "db.wait_event_type")


def _unit(text: str) -> float:
    """A number in [0, 1) fixed by `text`."""
    return (zlib.crc32(text.encode()) % 1000) / 1000


def _shade(color: str, amount: float) -> str:
    """`color` lighter (amount > 0) or darker (< 0) by up to SHADE_SPREAD in lightness."""
    red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
    lightness = min(0.85, max(0.2, lightness + amount * SHADE_SPREAD))
    out = colorsys.hls_to_rgb(hue, lightness, saturation)
    return "#" + "".join(f"{round(c * 255):02x}" for c in out)
