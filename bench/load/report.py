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
    lines += observer_lines(r.get("observer"))
    return "\n".join(lines) + "\n"


def observer_lines(o: dict[str, Any] | None) -> list[str]:
    if not o:
        return ["", "Observer effect: not measured in this run (`--rounds 0`)."]
    lines = [
        "",
        f"Observer effect ({o['pgbench']}, on the writer; {o['rounds']} rounds, each running "
        f"every mode once in a rotated order; a collector over all {o['instances']} instances "
        "of the stack; ratios are paired, each mode over the same round's `off`):",
        "",
        "| collector | TPS per round | median TPS | paired ratios: median, 95 % interval "
        "| mean, 95 % interval | its CPU, share of the machine: process + backends |",
        "|---|---|---|---|---|---|",
        f"| off | {', '.join(str(v) for v in o['tps']['off'])} | {o['median_tps']['off']} "
        "| 1 | 1 | 0 |",
    ]
    for mode, m in o["modes"].items():
        low, high = m["interval"]
        median_low, median_high = m["median_interval"]
        lines.append(
            f"| {mode} | {', '.join(str(v) for v in o['tps'][mode])} | {o['median_tps'][mode]} "
            f"| {m['median_ratio']:.3f} ({median_low:.3f}-{median_high:.3f}) "
            f"| {m['mean_ratio']:.3f} ({low:.3f}-{high:.3f}) "
            f"| {m['cpu_process_pct']:.2f} % + {m['cpu_backends_pct']:.2f} % |"
        )
    fast = o["modes"].get("100 ms")
    if fast:
        low, high = fast["median_interval"]
        verdict = (
            "met: the median's whole interval is above 0.98"
            if low >= 0.98
            else "not met: the median's interval is below 0.98"
            if high < 0.98
            else "not settled by this run: 0.98 is inside the median's interval"
        )
        mean_low = fast["interval"][0]
        mean = "above 0.98 too" if mean_low >= 0.98 else f"reaches down to {mean_low:.3f}"
        lines += ["", f"Target: under 2 % lower at 100 ms: {verdict} (the mean's {mean})."]
    return lines
