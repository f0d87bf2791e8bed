"""The measured section of docs/scaling.md, between its bench.scaling markers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench.scaling:begin -->", "<!-- bench.scaling:end -->"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        BEGIN,
        "## Measured",
        "",
        f"Run {r['date']} with `{r['command']}` ({r['minutes']:.0f} min) on {m['cores']} x "
        f"{m['cpu']}, {m['memory_gib']} GiB RAM, Linux {m['kernel']}. Load before: "
        f"`{r['load_before']}`; after: `{r['load_after']}`.",
        "",
        "One collector process, its targets (4 to a cluster) all pointing at two plain "
        "PostgreSQL 15 servers, polling them at the interval shown (the stack's default is "
        "1 s); one Prometheus scraping it at the same interval, the timeout equal to the "
        "interval. *up*: instances whose last poll answered in time. CPU in % of one core "
        "over the window.",
        "",
        "| instances | interval | up | series | per instance | /metrics "
        "| scrape (direct, median / max) | scrape seen by Prometheus | Prometheus up "
        "| collector CPU | per instance "
        "| collector RSS | backends | their CPU | Prometheus CPU | Prometheus RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in r["sizes"]:
        cpu, rss, scrape = s["cpu_percent"], s["rss_mib"], s["scrape"]
        n = s["instances"]
        lines.append(
            f"| {n} | {s['interval_s']:g} s | {s['up']} | {s['series']} | {s['series'] / n:.0f} "
            f"| {scrape['bytes'] / 1024:.0f} KiB "
            f"| {scrape['median_ms']:.0f} / {scrape['max_ms']:.0f} ms "
            f"| {s['prometheus_scrape_s'] * 1000:.0f} ms | {s['prometheus_up_ratio']:.0%} "
            f"| {cpu['collector']:.0f} % | {cpu['collector'] / n:.2f} % "
            f"| {rss['collector']:.0f} MiB | {s['backends']} | {cpu['postgres']:.0f} % "
            f"| {cpu['prometheus']:.0f} % | {rss['prometheus']:.0f} MiB |"
        )
    lines += [
        "",
        "Prometheus memory per head size (a fresh Prometheus 2.42 scraping a synthetic "
        "exporter every 15 s, values changing every scrape, measured after four scrapes):",
        "",
        "| series in the head | RSS | Go heap in use |",
        "|---|---|---|",
    ]
    for p in r["memory"]:
        lines.append(f"| {p['series']:,.0f} | {p['rss_mib']:.0f} MiB | {p['heap_mib']:.0f} MiB |")
    per = r["per_million"]
    lines += [
        "",
        f"Slope: **{per['rss_mib'] / 1024:.2f} GiB RSS per million series** "
        f"({per['heap_mib'] / 1024:.2f} GiB of Go heap).",
        END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace the text between the markers, or append the section."""
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
