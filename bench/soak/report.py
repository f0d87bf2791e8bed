"""The soak's results as docs/reliability.md's Soak section."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bench.docs import write_marked

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- bench.soak:begin -->", "<!-- bench.soak:end -->"


def markdown(r: dict[str, Any]) -> str:
    episodes = r["episodes"]
    kinds = Counter(e["kind"] for e in episodes)
    rows = []
    for kind in sorted(kinds):
        mine = [e for e in episodes if e["kind"] == kind]
        events = sum(len(e["events"]) for e in mine)
        events_missing = sum(len(e["events_missing"]) for e in mine)
        alerts = sum(len(e["alerts"]) for e in mine)
        alerts_missing = sum(len(e["alerts_missing"]) for e in mine)
        errors = sum(1 for e in mine if e["error"])
        healed = [e["healed"] - e["started"] for e in mine if e["healed"]]
        worst = f"{max(healed):.0f}" if healed else "-"
        rows.append(
            f"| {kind} | {len(mine)} | {events - events_missing}/{events} | "
            f"{alerts - alerts_missing}/{alerts} | {errors} | {worst} |"
        )
    w, mem = r["writes"], r["memory"]

    def slope(name: str) -> str:
        m = mem[name]
        return (
            f"{m['slope_mib_per_min']} MiB/min; after each process's first 2 min: "
            f"{m.get('steady_slope_mib_per_min')} MiB/min ({m['samples']} samples, "
            f"{m['incarnations']} process(es), {m['first_mib']} -> {m['last_mib']} MiB, "
            f"max {m['max_mib']})"
        )

    lines = [
        f"Soak of {r['minutes']} min ({r['soak_minutes']:g} min of faults), seed {r['seed']}, "
        f"{r['readers']} readers, faults held {r['hold_s'][0]:g}-{r['hold_s'][1]:g} s, "
        f"{r['date']}, {r['machine']}, load average mean {r['load_average']['mean']} "
        f"(max {r['load_average']['max']}) on a machine shared with other test runs. "
        f"Verdict: **{'pass' if r['ok'] else 'FAIL'}**.",
        "",
        "| fault | injected | events seen/expected | alerts seen/expected | step errors | "
        "slowest heal (s) |",
        "|---|---|---|---|---|---|",
        *rows,
        f"| **all** | {len(episodes)} | "
        f"{sum(len(e['events']) - len(e['events_missing']) for e in episodes)}/"
        f"{sum(len(e['events']) for e in episodes)} | "
        f"{sum(len(e['alerts']) - len(e['alerts_missing']) for e in episodes)}/"
        f"{sum(len(e['alerts']) for e in episodes)} | "
        f"{sum(1 for e in episodes if e['error'])} | |",
        "",
        "| check | result |",
        "|---|---|",
        f"| acknowledged writes | {w['acknowledged']} |",
        f"| lost | {w['lost']} |",
        f"| duplicated | {w['duplicated']} |",
        f"| outcome unknown (connection cut mid-commit) | {w['unknown']} "
        f"({w['unknown_committed']} committed) |",
        f"| supervisor RSS slope | {slope('supervisor')} |",
        f"| collector RSS slope | {slope('collector')} |",
        f"| processes left after `borealis down` | {len(r['leaked_processes'])} |",
        f"| ports left listening | {len(r['leaked_ports'])} |",
    ]
    misses = r["events_missing"] + r["alerts_missing"] + r["leaked_processes"]
    misses += [
        f"episode error: {e['kind']} {e['target']}: {e['error']}" for e in episodes if e["error"]
    ]
    if misses:
        lines += ["", "Misses:", "", *[f"- {m}" for m in misses[:30]]]
    return "\n".join(lines) + "\n"


def write_docs(section: str, begin: str = BEGIN, end: str = END, heading: str = "Soak") -> None:
    """Replace the section between `begin` and `end` in docs/reliability.md (or append it
    under `## heading`)."""
    write_marked(DOCS, begin, end, section, heading=heading, new_file="# Reliability\n")
