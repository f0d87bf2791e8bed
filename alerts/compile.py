"""Metric alarms to Prometheus rules, with CloudWatch's evaluation semantics.

Per alarm (labels ``alarm_name`` and the dimension labels that tell its series apart):

- ``alarm:series:last_seen``: the alarm's series, when each last had a sample (kept for an
  hour after; from the start for the series an alarm names in full). A known series
  without datapoints is evaluated with zero datapoints, not dropped.

- ``alarm:datapoints_encoded:recent`` and ``alarm:datapoints_evaluated``: how many datapoints
  exist and how many breach, in one number (``present + 10000 * breaching``, so one subquery
  counts both). ``recent`` holds the last N periods; ``evaluated`` adds the two periods before
  them as far as fewer than N exist so far: both when ``recent`` lacks two or more, the newer
  existing one (``last_over_time`` of the two) when it lacks one. N periods plus two is the
  *evaluation range* (CloudWatch retrieves "a higher number of data points than Evaluation
  Periods"; its documented examples use N + 2), and the result is the N datapoints CloudWatch
  evaluates: the most recent *existing* ones of the range, so a gap is bridged by older real
  datapoints before the missing-data treatment is used at all.
- ``alarm:state``: 0 OK, 1 INSUFFICIENT_DATA, 2 ALARM (``max`` over series is the worst).
  Missing datapoints still lacking after that fill ``N``: ``breaching`` counts them as
  breaching, ``notBreaching`` as not; ``missing`` gives ALARM with M breaching datapoints, OK
  with a non-breaching one, INSUFFICIENT_DATA otherwise (nothing in the range, or only fewer
  than M breaching ones); ``ignore`` keeps the previous state where ``missing`` would say
  INSUFFICIENT_DATA. All but ``ignore`` read ``evaluated`` once or twice: with
  ``E = present + 10000 * breaching``, ``E >= 10000 * M`` says M breach, and ``E % 10001``
  is ``present - breaching`` (10000 is -1 modulo 10001), the datapoints that do not breach.
- alerts: ``<AlarmName>`` while ``alarm:state`` is 2 (and, with InsufficientDataActions,
  while it is 1, labelled ``alarm_state="INSUFFICIENT_DATA"``). ``for: 0s``: the M-of-N
  evaluation above already is the wait.
- anomaly bands: ``alarm:anomaly_band:{baseline,upper,lower}``: the mean of the metric's
  datapoints over the hour before the evaluation range, plus/minus k standard deviations.

What an evaluation costs is mostly the series each rule reads back (a recorded series is
decoded from its chunk's start for every reference: about 20 us a series here), so the rules
refer to their inputs as few times as they can; merging the alarms into one rule per stage
was measured and saved nothing (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alerts.datapoints import Target, datapoint, last_seen, number, promql_string, resolve
from alerts.model import Comparison, MetricAlarm, MissingData

KNOWN_FOR_S = 3600  # a wildcard alarm forgets a series silent for an hour
BAND_HISTORY_S = 3600
EXTRA_PERIODS = 2
ENCODE = 10_000
NOT_BREACHING_MODULUS = ENCODE + 1  # E % 10001 = present - breaching (ENCODE is -1 mod it)
OK, INSUFFICIENT_DATA, ALARM = 0, 1, 2
STATE = "alarm:state"
RECENT = "alarm:datapoints_encoded:recent"
EVALUATED = "alarm:datapoints_evaluated"
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


def state_expr(alarm: MetricAlarm) -> str:
    name = alarm.AlarmName
    n, m = alarm.EvaluationPeriods, alarm.datapoints_to_alarm
    evaluated = _selector(EVALUATED, name)
    alarming = f"{evaluated} >= bool {m * ENCODE}"  # M or more breach
    treatment = alarm.TreatMissingData
    if treatment is MissingData.BREACHING:
        # Missing ones breach: ALARM unless more than N - M existing ones do not.
        return f"{ALARM} * ({evaluated} % {NOT_BREACHING_MODULUS} <= bool {n - m})"
    if treatment is MissingData.NOT_BREACHING:
        return f"{ALARM} * ({alarming})"
    # Below M breaching: INSUFFICIENT_DATA when none of them is a non-breaching one. An
    # alarming E is clamped to M * 10000, which is 10001 - M (never 0) modulo 10001.
    below = f"clamp_max({evaluated}, {m * ENCODE})"
    missing = f"({ALARM} * ({alarming}) + ({below} % {NOT_BREACHING_MODULUS} == bool 0))"
    if treatment is MissingData.MISSING:
        return missing
    previous = f"last_over_time({_selector(STATE, name)}[{KNOWN_FOR_S}s])"
    return f"({missing} != {INSUFFICIENT_DATA}) or ({previous} and {missing}) or {missing}"


def evaluated_expr(recent: str, older: str, last_older: str, n: int) -> str:
    """`recent` plus what the two older periods bring (encoded): both when it lacks two or
    more of N, the newer existing one when it lacks one; `recent` alone when they have
    none. `older` sums the two periods, `last_older` is the newer of them that exists."""
    lacks_two = f"({recent} % {ENCODE} <= bool {n - 2})"
    lacks_one = f"({recent} % {ENCODE} == bool {n - 1})"
    added = (
        f"{recent} + ignoring (alarm_name) ({older} * ignoring (alarm_name) {lacks_two})"
        f" + ignoring (alarm_name) ({last_older} * ignoring (alarm_name) {lacks_one})"
    )
    return f"({added}) or ignoring (alarm_name) {recent}"


def compile_metric_alarm(alarm: MetricAlarm) -> CompiledAlarm:
    target, stat = alarm_target(alarm)
    band = band_of(alarm)
    period, n = alarm.period_s, alarm.EvaluationPeriods
    labels = {"alarm_name": alarm.AlarmName}
    value = datapoint(target, stat, period)
    seen = _selector("alarm:series:last_seen", alarm.AlarmName)
    zero = f"(0 * {seen})"
    breach = breach_expr(alarm, value)
    # A datapoint outside a band that has no history yet is a datapoint, not breaching.
    scored = breach if band is None else f"({breach}) or (0 * {value})"
    known_for = max(KNOWN_FOR_S, (n + EXTRA_PERIODS) * period)
    rules: list[Rule] = [
        {
            "record": "alarm:series:last_seen",
            "expr": last_seen(target, seen, known_for),
            "labels": labels,
        }
    ]
    if band is not None:
        rules += band_rules(alarm, band, value, labels)
    name = alarm.AlarmName

    def encoded(span: str) -> str:
        # Each existing datapoint adds 1, a breaching one ENCODE more (N <= 8640 datapoints:
        # a day of 10-second periods, so they never mix).
        return f"sum_over_time((1 + {ENCODE} * ({scored})){span})"

    older = f"[{2 * period - 1}s:{period}s] offset {n * period}s"
    older_sum = encoded(older)
    older_last = f"last_over_time((1 + {ENCODE} * ({scored})){older})"
    rules += [
        {
            "record": RECENT,
            "expr": _or_zero(encoded(f"[{n * period - 1}s:{period}s]"), zero),
            "labels": labels,
        },
        {
            "record": EVALUATED,
            "expr": evaluated_expr(_selector(RECENT, name), older_sum, older_last, n),
            "labels": labels,
        },
        {"record": STATE, "expr": state_expr(alarm), "labels": labels},
    ]
    return CompiledAlarm(name, target, tuple(rules))
