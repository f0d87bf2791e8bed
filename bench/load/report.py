"""The load bench's results as docs/reliability.md's Load section."""

from __future__ import annotations

from typing import Any


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"Measured {r['date']} on {m['nproc']} x {m['cpu']}, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}, with `python -m bench load`. Load average before: {r['load_before']}, "
        f"after: {r.get('load_after', '?')} (a machine shared with other test runs: the "
        "figures are upper bounds on cost).",
        "",
    ]
    st = r.get("statements")
    if st:
        lines += [
            f"- **{st['sent']:,} distinct statements** sent in {st['seconds']} s; "
            f"pg_stat_statements tracks {st['tracked']:,} of them.",
        ]
    ses = r.get("sessions")
    if ses:
        lines.append(
            f"- **{ses['opened']} client connections** through the cluster endpoint (opened in "
            f"{ses['open_s']} s), {r['args']['active']} of them active (pg_sleep); DB load the "
            f"collector measured on the writer: {ses.get('active_db_load')} average active "
            f"sessions; client errors: {ses.get('errors') or 'none'}."
        )
    storm = r.get("storm")
    if storm:
        lines.append(
            f"- **Log storm**: {storm['written']:,} jsonlog lines in {storm['seconds']} s "
            f"({storm['written'] / max(storm['seconds'], 1):,.0f}/s) into the writer's log; the "
            f"collector counted {storm['counted']:,.0f} of them "
            + (
                f"(all), caught up {storm['catch_up_s']} s after the storm ended."
                if storm["counted_all"]
                else "by the end of the wait: it fell behind (a backlog it reads on, not a drop)."
            )
        )
    lag = r.get("lag")
    if lag:
        lines.append(
            f"- **Reader behind**: replay paused {lag['paused_s']} s; the reader holds "
            f"{lag['unreplayed_mib']} MiB of WAL it has not replayed (its last replayed "
            f"transaction: {lag['replay_age_s']} s old); AuroraReplicaLag in "
            "Prometheus (the collector's borealis_replica_lag_seconds): "
            f"{lag['prometheus_lag_s']} s."
        )
    w = r.get("window")
    if w and "polls_per_s" in w:
        polls = ", ".join(f"{k} {v}/s" for k, v in w["polls_per_s"].items())
        lines += [
            "",
            f"Collector during the load window ({w['window_s']} s, scraped every second, "
            f"{w['scrapes']} scrapes, {w['failed']} failed):",
            "",
            "| figure | value |",
            "|---|---|",
            f"| polls per instance (cadence 1 s) | {polls} |",
            f"| oldest poll age seen | {w['poll_age_s_max']} s |",
            f"| slowest sampler round trip | {w['sampler_round_trip_s_max']} s |",
            f"| series: idle / under load | {r['idle']['series']} / {w['series_max']} |",
            f"| /metrics scrape: idle / median / max | {r['idle']['scrape_s']} / "
            f"{w['scrape_s_median']} / {w['scrape_s_max']} s |",
            f"| poll errors / sampler errors | {w['poll_errors']:.0f} / "
            f"{w['sampler_errors']:.0f} |",
            f"| log lines counted / malformed / tail errors | {w['log_lines']:,.0f} / "
            f"{w['log_malformed']:.0f} / {w['log_tail_errors']:.0f} |",
            f"| log events held back by the rate limit (counted) | "
            f"{w['log_events_suppressed']:.0f} |",
            "| /proc reads put off by the per-reading budget (counted) | "
            f"{w.get('proc_reads_deferred', 0):.0f} |",
            "| slowest sources (one poll, seconds) | "
            + ", ".join(f"{n} {v}" for n, v in w.get("slowest_sources", []))
            + " |",
            "| largest metric families | "
            + ", ".join(f"{n} {c}" for n, c in w.get("top_families", []))
            + " |",
        ]
    o = r.get("observer")
    if not o:
        lines += ["", "Observer effect: not measured in this run (`--rounds 0`)."]
    else:
        lines += [
            "",
            f"Observer effect ({o['pgbench']}, on the writer; rounds alternate the order):",
            "",
            "| collector | TPS per round | mean | vs off |",
            "|---|---|---|---|",
        ]
        for mode in ("off", "1 s", "100 ms"):
            ratio = "1" if mode == "off" else f"{o['ratios'][mode]:.3f}"
            runs = ", ".join(str(v) for v in o["tps"][mode])
            lines.append(f"| {mode} | {runs} | {o['mean'][mode]} | {ratio} |")
        lines.append("")
        lines.append(
            "Target: under 2 % lower at 100 ms: "
            + ("met" if o["ratios"]["100 ms"] >= 0.98 else "not met on this (shared) machine")
            + "."
        )
    return "\n".join(lines) + "\n"
