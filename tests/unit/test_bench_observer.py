"""The observer-effect figures of bench.load: paired ratios, their interval, the verdict."""

from __future__ import annotations

import statistics

import pytest

from bench.load.observer import OFF, Rounds, bootstrap_interval, paired_ratios, summary
from bench.load.report import observer_lines


def drifting_rounds(cost: float) -> Rounds:
    """A machine that gets 20 % slower over the run; the collector costs `cost` of TPS."""
    rounds = Rounds()
    for n in range(10):
        speed = 1000 * (1 - 0.02 * n)
        rounds.add(OFF, speed)
        rounds.add("1 s", speed * (1 - cost / 4), (0.002, 0.001))
        rounds.add("100 ms", speed * (1 - cost), (0.003, 0.002))
    return rounds


def test_paired_ratios_cancel_a_drifting_machine() -> None:
    rounds = drifting_rounds(0.01)
    assert paired_ratios(rounds, "100 ms") == pytest.approx([0.99] * 10)
    assert paired_ratios(rounds, "1 s") == pytest.approx([0.9975] * 10)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_agreement() -> None:
    spread = [0.95, 1.0, 1.05, 0.97, 1.03, 0.99, 1.01, 0.96, 1.04, 1.0]
    low, high = bootstrap_interval(spread)
    assert low < sum(spread) / len(spread) < high
    tight_low, tight_high = bootstrap_interval([0.99, 0.991, 0.989, 0.99, 0.992])
    assert tight_high - tight_low < (high - low) / 10
    assert bootstrap_interval(spread) == (low, high)  # seeded: the report is reproducible


def test_a_few_slow_runs_widen_the_means_interval_but_not_the_medians() -> None:
    ratios = [0.995 + 0.001 * (n % 5 - 2) for n in range(40)] + [0.8, 0.82, 1.2]
    mean_low, mean_high = bootstrap_interval(ratios)
    median_low, median_high = bootstrap_interval(ratios, statistics.median)
    assert median_low <= statistics.median(ratios) <= median_high
    assert median_high - median_low < (mean_high - mean_low) / 5


@pytest.mark.parametrize(
    ("cost", "verdict"),
    [(0.005, "met"), (0.05, "not met"), (None, "not settled")],
)
def test_the_verdict_follows_the_interval(cost: float | None, verdict: str) -> None:
    if cost is None:  # rounds that scatter around 2 % lower
        rounds = Rounds()
        for n, ratio in enumerate([0.95, 1.01, 0.97, 0.99, 0.96, 1.0, 0.98, 0.99, 0.97, 1.0]):
            rounds.add(OFF, 1000 + n)
            rounds.add("1 s", 1000 + n, (0.0, 0.0))
            rounds.add("100 ms", (1000 + n) * ratio, (0.0, 0.0))
    else:
        rounds = drifting_rounds(cost)
    o = summary(rounds, cores=2)
    o.update(pgbench="pgbench -S", instances=2)
    text = "\n".join(observer_lines(o))
    assert f"Target: under 2 % lower at 100 ms: {verdict}" in text


def test_the_median_decides_and_the_report_says_where_the_mean_reaches() -> None:
    rounds = Rounds()
    slow = {3: 0.75, 11: 0.78, 17: 0.8}  # rounds whose 100 ms run hit a slow spell
    for n in range(20):
        rounds.add(OFF, 1000)
        rounds.add("1 s", 1000, (0.0, 0.0))
        rounds.add("100 ms", 1000 * slow.get(n, 0.995 + 0.001 * (n % 3)), (0.0, 0.0))
    o = summary(rounds, cores=2)
    o.update(pgbench="pgbench -S", instances=2)
    assert o["modes"]["100 ms"]["interval"][0] < 0.98 <= o["modes"]["100 ms"]["median_interval"][0]
    text = "\n".join(observer_lines(o))
    assert "Target: under 2 % lower at 100 ms: met: the median's whole interval" in text
    assert f"the mean's reaches down to {o['modes']['100 ms']['interval'][0]:.3f}" in text


def test_cpu_is_a_share_of_the_machine() -> None:
    o = summary(drifting_rounds(0.01), cores=2)
    assert o["modes"]["100 ms"]["cpu_process_pct"] == pytest.approx(0.15)
    assert o["modes"]["100 ms"]["cpu_backends_pct"] == pytest.approx(0.1)
    assert o["rounds"] == 10
