"""bench.alerts' cost figures: what "one cycle" and "per second" add up (the figures the
50 ms target of issue 10 is read from)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.alerts import cost_figures, markdown, work_figures


def group(name: str, interval: float, seconds: float, rules: int = 6) -> dict[str, Any]:
    return {
        "name": name,
        "interval": interval,
        "evaluationTime": seconds,
        "rules": [{"health": "ok"}] * rules,
    }


def test_a_cycle_sums_each_groups_median_and_per_second_weighs_by_interval() -> None:
    reads = [
        [
            group("alarm:Fast", 5, 0.002),
            group("alarm:Slow", 10, 0.004),
            group("borealis-cloudwatch", 5, 0.050, rules=40),
        ],
        [
            group("alarm:Fast", 5, 0.004),
            group("alarm:Slow", 10, 0.010),
            group("borealis-cloudwatch", 5, 0.070, rules=40),
        ],
        [
            group("alarm:Fast", 5, 0.003),
            group("alarm:Slow", 10, 0.006),
            group("borealis-cloudwatch", 5, 0.060, rules=40),
        ],
    ]
    figures = cost_figures(reads)
    assert figures["alarm_cycle_ms"] == pytest.approx(3 + 6)  # medians, one of each group
    assert figures["alarm_per_second_ms"] == pytest.approx(3 / 5 + 6 / 10)
    assert figures["alarm_intervals"] == "1 x 5 s, 1 x 10 s"
    assert figures["alarm_rules"] == 12
    assert figures["recording_ms"] == pytest.approx(60)
    assert figures["cycle_ms"] == pytest.approx(69)
    assert figures["unhealthy"] == 0


def test_an_evaluation_seen_by_several_reads_counts_once() -> None:
    slow = [(0.010, "t1"), (0.010, "t1"), (0.010, "t1"), (0.002, "t2"), (0.003, "t3")]
    reads = [[{**group("alarm:Slow", 10, seconds), "lastEvaluation": at}] for seconds, at in slow]
    # Five reads, three evaluations: the median of 10, 2 and 3 ms, not of five reads.
    assert cost_figures(reads)["alarm_cycle_ms"] == pytest.approx(3)


def test_the_report_shows_the_after_rules_alone_next_to_the_side_by_side_figures() -> None:
    reads = [[group("alarm:Fast", 5, 0.002), group("alarm:Slow", 10, 0.004)]]
    alone = [[group("alarm:Fast", 5, 0.001), group("alarm:Slow", 10, 0.0025)]]
    figures = {
        **cost_figures(reads),
        **work_figures({"alarm:Fast": 10, "alarm:Slow": 20}, reads[0]),
    }
    cost = {
        "instances": 16,
        "minutes": 18,
        "before_revision": "abc1234",
        "before": figures,
        "after": figures,
        "after_alone": cost_figures(alone),
    }
    text = markdown(cost, [], "2026-12-03 22:00 UTC", ("0.1", "0.2"))
    assert "| **alarm groups, one cycle** | 6.0 ms | 6.0 ms |" in text
    assert "| **the same, after-rules' Prometheus alone** |  | 3.5 ms |" in text
    assert "| alarm groups per second, alone |  | 0.5 ms |" in text
