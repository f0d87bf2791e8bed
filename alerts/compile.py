"""Metric alarms to Prometheus rules, with CloudWatch's evaluation semantics.

Per alarm (labels ``alarm_name`` and the dimension labels that tell its series apart):

- ``alarm:datapoint``: each datapoint once, recorded by the evaluation just after its
  period ends, as ``10000`` plus 1 if it breaches (no sample in the period: none). Its
  ``alarm_name`` is ``<name>@<digest of the definition>``, so a changed alarm starts
  afresh. Everything below reads these instead of recomputing N + 2 datapoints from the
  samples at every evaluation. The price: a new or changed alarm has no datapoints from
  before it, so it evaluates the periods it has seen (CloudWatch evaluates a new alarm over
  the metric's past), and a period whose end Prometheus missed is a missing datapoint.
- ``alarm:datapoints_evaluated``: the N datapoints CloudWatch evaluates, counted in one
  number: ``present * 10000 + breaching``. They are the most recent *existing* datapoints
  of the *evaluation range*, N periods plus two (CloudWatch retrieves "a higher number of
  data points than Evaluation Periods"; its documented examples use N + 2), so a gap is
  bridged by older real datapoints before the missing-data treatment is used at all. In
  PromQL: the sum over the last N periods if all N exist, else over the last N + 1 if N
  exist there, else over all N + 2 (which then hold fewer than N): three windows joined
  by ``or``, each read once, since "N exist" is ``sum >= N * 10000`` on the sum itself
  (with N = 1, the newest existing datapoint: one ``last_over_time`` of the range). A
  series of the alarm that had a datapoint in the last hour (from the start for the series
  an alarm names in full) but has none in the range is evaluated with none, not dropped.
- ``alarm:state``: 0 OK, 1 INSUFFICIENT_DATA, 2 ALARM (``max`` over series is the worst).
  Missing datapoints still lacking after that fill ``N``: ``breaching`` counts them as
  breaching, ``notBreaching`` as not; ``missing`` gives ALARM with M breaching datapoints, OK
  with a non-breaching one, INSUFFICIENT_DATA otherwise (nothing in the range, or only fewer
  than M breaching ones); ``ignore`` keeps the previous state where ``missing`` would say
  INSUFFICIENT_DATA. With ``V = present * 10000 + breaching``: ``V % 10000`` breach, and
  ``V % 10001`` is ``breaching - present`` modulo 10001 (10000 is -1 modulo 10001), so
  ``(10001 - V % 10001) % 10001`` do not breach. ``breaching`` and ``notBreaching`` read
  ``V`` once, so their state rule computes it in place; the others record it first.
- alerts: ``<AlarmName>`` while ``alarm:state`` is 2 (and, with InsufficientDataActions,
  while it is 1, labelled ``alarm_state="INSUFFICIENT_DATA"``). ``for: 0s``: the M-of-N
  evaluation above already is the wait.
- anomaly bands: ``alarm:anomaly_band:{baseline,upper,lower}``: the mean of the metric's
  datapoints over the hour before the evaluation range, plus/minus k standard deviations.

What an evaluation costs is mostly a fixed price per rule, selector and subquery (here, over
16 series: a selector about 0.1 ms, a subquery over the samples about 0.4 ms whether it has
1 step or 7, a rule's output about 0.15 ms), more than the samples read. Computing the
datapoints once each, as their period ends, replaces three subqueries an evaluation with
one and three reads of a recorded series (docs/benchmarks.md, "Alarms").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from alerts.datapoints import Target, datapoint, known, number, promql_string, resolve
from alerts.model import Comparison, MetricAlarm, MissingData

KNOWN_FOR_S = 3600  # a wildcard alarm forgets a series silent for an hour
BAND_HISTORY_S = 3600
EXTRA_PERIODS = 2
ENCODE = 10_000  # V = present * ENCODE + breaching (N <= 8640: a day of 10-second periods)
MODULUS = ENCODE + 1  # V % 10001 = breaching - present, modulo 10001
OK, INSUFFICIENT_DATA, ALARM = 0, 1, 2
STATE = "alarm:state"
EVALUATED = "alarm:datapoints_evaluated"
DATAPOINT = "alarm:datapoint"
MAX_INTERVAL_S = 10
OPERATORS = {
    Comparison.GREATER_OR_EQUAL: ">=",
    Comparison.GREATER: ">",
    Comparison.LESS: "<",
    Comparison.LESS_OR_EQUAL: "<=",
}
BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\s*\(\s*(\w+)\s*(?:,\s*([0-9.]+)\s*)?\)\s*$")

Rule = dict[str, object]


@dataclass(frozen=True)
class Band:
    metric_id: str
    width: float  # standard deviations


@dataclass(frozen=True)
class CompiledAlarm:
    name: str
    target: Target
    rules: tuple[Rule, ...]


def band_of(alarm: MetricAlarm) -> Band | None:
    """The ANOMALY_DETECTION_BAND an anomaly alarm compares with (ValueError when malformed)."""
    if not alarm.ComparisonOperator.is_band:
        return None
    queries = {q.Id: q for q in alarm.Metrics or ()}
    threshold = queries.get(alarm.ThresholdMetricId or "")
    if threshold is None or threshold.Expression is None:
        raise ValueError("ThresholdMetricId must name a Metrics entry with an Expression")
    match = BAND.match(threshold.Expression)
    if match is None:
        raise ValueError(
            f"Expression {threshold.Expression!r}: only ANOMALY_DETECTION_BAND(id, k) is supported"
        )
    metric = queries.get(match.group(1))
    if metric is None or metric.MetricStat is None:
        raise ValueError(f"ANOMALY_DETECTION_BAND names {match.group(1)!r}: no MetricStat query")
    stats = [q for q in queries.values() if q.MetricStat is not None]
    expressions = [q for q in queries.values() if q.Expression is not None]
    if len(stats) != 1 or len(expressions) != 1:
        raise ValueError("an anomaly alarm has one MetricStat query and its band expression")
    return Band(metric.Id, float(match.group(2) or 2))


def alarm_target(alarm: MetricAlarm) -> tuple[Target, str]:
    """The alarm's series and statistic (ValueError when the metric is unknown)."""
    band_of(alarm)
    stat = alarm.metric_stat
    if stat is not None:
        metric = stat.Metric
        target = resolve(metric.Namespace, metric.MetricName, metric.Dimensions)
        unit, statistic = stat.Unit, stat.Stat
    else:
        target = resolve(alarm.Namespace or "", alarm.MetricName or "", alarm.Dimensions)
        unit, statistic = alarm.Unit, alarm.ExtendedStatistic or str(alarm.Statistic)
    if unit is not None and unit != target.source.unit:
        # CloudWatch would leave such an alarm in INSUFFICIENT_DATA for ever: say so now.
        raise ValueError(f"Unit {unit}: {target.source.name} is published in {target.source.unit}")
    return target, statistic


def _selector(name: str, alarm: str) -> str:
    return f"{name}{{alarm_name={promql_string(alarm)}}}"


def _or_zero(expr: str, zero: str) -> str:
    return f"({expr}) or ignoring (alarm_name) {zero}"


def breach_expr(alarm: MetricAlarm, value: str) -> str:
    """1 for a breaching datapoint, 0 for a non-breaching one."""
    if alarm.ComparisonOperator in OPERATORS:
        return f"{value} {OPERATORS[alarm.ComparisonOperator]} bool {number(alarm.Threshold or 0)}"
    upper_band = _selector("alarm:anomaly_band:upper", alarm.AlarmName)
    lower_band = _selector("alarm:anomaly_band:lower", alarm.AlarmName)
    upper = f"{value} > bool ignoring (alarm_name) {upper_band}"
    lower = f"{value} < bool ignoring (alarm_name) {lower_band}"
    if alarm.ComparisonOperator is Comparison.ABOVE_BAND:
        return upper
    if alarm.ComparisonOperator is Comparison.BELOW_BAND:
        return lower
    return f"({upper}) + ({lower})"


def band_rules(alarm: MetricAlarm, band: Band, value: str, labels: dict[str, str]) -> list[Rule]:
    period = alarm.period_s
    before = alarm.EvaluationPeriods * period
    history = f"({value})[{BAND_HISTORY_S}s:{period}s] offset {before}s"
    name = alarm.AlarmName
    return [
        {
            "record": "alarm:anomaly_band:baseline",
            "expr": f"avg_over_time({history})",
            "labels": labels,
        },
        {
            "record": "alarm:anomaly_band:stddev",
            "expr": f"stddev_over_time({history})",
            "labels": labels,
        },
        {
            "record": "alarm:anomaly_band:upper",
            "expr": f"{_selector('alarm:anomaly_band:baseline', name)} + {number(band.width)} * "
            f"{_selector('alarm:anomaly_band:stddev', name)}",
            "labels": labels,
        },
        {
            "record": "alarm:anomaly_band:lower",
            "expr": f"{_selector('alarm:anomaly_band:baseline', name)} - {number(band.width)} * "
            f"{_selector('alarm:anomaly_band:stddev', name)}",
            "labels": labels,
        },
    ]


def state_expr(alarm: MetricAlarm, evaluated: str) -> str:
    """The state from `evaluated` (V = present * 10000 + breaching, an expression)."""
    evaluated = f"({evaluated})"
    name = alarm.AlarmName
    n, m = alarm.EvaluationPeriods, alarm.datapoints_to_alarm
    alarming = f"{evaluated} % {ENCODE} >= bool {m}"  # M or more breach
    treatment = alarm.TreatMissingData
    if treatment is MissingData.BREACHING:
        # Missing ones breach: ALARM unless more than N - M existing ones do not.
        not_breaching = f"({MODULUS} - {evaluated} % {MODULUS}) % {MODULUS}"
        return f"{ALARM} * ({not_breaching} <= bool {n - m})"
    if treatment is MissingData.NOT_BREACHING:
        return f"{ALARM} * ({alarming})"
    # INSUFFICIENT_DATA: none does not breach (V is a multiple of 10001) and fewer than M
    # breach (V <= (M - 1) * 10001). Clamped to one more than that, every V above it is
    # 1 modulo 10001: never 0.
    below = f"clamp_max({evaluated}, {(m - 1) * MODULUS + 1})"
    missing = f"({ALARM} * ({alarming}) + ({below} % {MODULUS} == bool 0))"
    if treatment is MissingData.MISSING:
        return missing
    previous = f"last_over_time({_selector(STATE, name)}[{KNOWN_FOR_S}s])"
    return f"({missing} != {INSUFFICIENT_DATA}) or ({previous} and {missing}) or {missing}"


def group_interval_s(period_s: int) -> int:
    """How often an alarm's group is evaluated: a datapoint only changes when its Period
    ends, so every fifth of a Period sees each one soon after (a 10-second alarm every 2 s,
    not every second: the failover alarm's drill fired 11.8 s after the fault at 5 s, 4.2 s
    at 1 s, against a 15 s target), and at most every 10 s (a 60-second alarm need not wait
    up to a minute, as a CloudWatch alarm may, for its datapoint to be evaluated)."""
    return max(1, min(period_s // 5, MAX_INTERVAL_S))


def evaluated_expr(window: Callable[[int], str], newest: str, n: int, zero: str) -> str:
    """The most recent N existing datapoints of the last N + 2 periods, encoded:
    `window(k)` sums the last k periods' datapoints, `newest` is the most recent existing
    one of the range; a series known but without any datapoint in the range is `zero`."""
    if n == 1:
        return f"{newest} or {zero}"  # one subquery where three windows would be read
    enough = n * ENCODE  # N datapoints exist in the window
    return (
        f"({window(n)} >= {enough}) or ({window(n + 1)} >= {enough})"
        f" or {window(n + EXTRA_PERIODS)} or {zero}"
    )


def datapoints_name(alarm: MetricAlarm, encoded: str) -> str:
    """The ``alarm_name`` of the alarm's recorded datapoints: its name and a digest of how
    they are computed (metric, statistic, dimensions, threshold), so a changed alarm starts
    afresh instead of mixing datapoints of two definitions. The rules that read them set
    ``alarm_name`` back to the alarm's name."""
    return f"{alarm.AlarmName}@{hashlib.sha256(encoded.encode()).hexdigest()[:12]}"


def compile_metric_alarm(alarm: MetricAlarm) -> CompiledAlarm:
    target, stat = alarm_target(alarm)
    band = band_of(alarm)
    period, n = alarm.period_s, alarm.EvaluationPeriods
    interval = group_interval_s(period)
    if period % interval:
        raise ValueError(f"Period {period}: not a multiple of its evaluation interval {interval} s")
    labels = {"alarm_name": alarm.AlarmName}
    value = datapoint(target, stat, period)
    breach = breach_expr(alarm, value)
    # A datapoint outside a band that has no history yet is a datapoint, not breaching.
    scored = breach if band is None else f"({breach}) or (0 * {value})"
    encoded = f"({ENCODE} + ({scored}))"  # an existing datapoint: ENCODE, 1 more if breaching
    recorded = datapoints_name(alarm, encoded)
    series = _selector(DATAPOINT, recorded)
    rules: list[Rule] = []
    if band is not None:
        rules += band_rules(alarm, band, value, labels)
    # Each datapoint recorded once, just after its period ends: the evaluations are
    # `interval` apart and the period is a multiple of it, so exactly one evaluation has the
    # period's boundary in its last `interval` (the subquery's one step is that boundary).
    latest = f"last_over_time({encoded}[{interval * 1000 - 1}ms:{period}s])"
    rules.append({"record": DATAPOINT, "expr": latest, "labels": {"alarm_name": recorded}})
    known_for = max(KNOWN_FOR_S, (n + EXTRA_PERIODS) * period)
    # A known series without datapoints in the range is evaluated with none, not dropped.
    zero = f"(0 * ({known(target, known_for, series, recorded)}))"

    def window(periods: int) -> str:
        # The datapoints of the last `periods` periods: one a period, the newest within it.
        return f"sum_over_time({series}[{periods * period * 1000 - 1}ms])"

    newest = f"last_over_time({series}[{(n + EXTRA_PERIODS) * period * 1000 - 1}ms])"
    evaluated = evaluated_expr(window, newest, n, zero)
    name = alarm.AlarmName
    if alarm.TreatMissingData in (MissingData.BREACHING, MissingData.NOT_BREACHING):
        rules.append({"record": STATE, "expr": state_expr(alarm, evaluated), "labels": labels})
    else:
        rules += [
            {"record": EVALUATED, "expr": evaluated, "labels": labels},
            {
                "record": STATE,
                "expr": state_expr(alarm, _selector(EVALUATED, name)),
                "labels": labels,
            },
        ]
    return CompiledAlarm(name, target, tuple(rules))
