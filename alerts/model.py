"""CloudWatch alarms as data: PutMetricAlarm's and PutCompositeAlarm's fields and rules.

Field names and validation follow the CloudWatch API reference, so the same models validate
alarm files and, later, the CloudWatch-compatible API's requests. Borealis adds two fields,
``severity`` and ``runbook``, and one convention: a dimension value ``*`` watches every
instance (or cluster) with one Prometheus alert each, where CloudWatch needs one alarm each.

Actions name Borealis receivers the way they name SNS topics on AWS: an SNS topic ARN
(``arn:aws:sns:<region>:<account>:<topic>``, the receiver is ``<topic>``) or the bare topic
name.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

ONE_DAY_S = 86_400
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
WILDCARD = "*"
SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})$")
TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d+)?)$")


class StandardStatistic(enum.StrEnum):
    SAMPLE_COUNT = "SampleCount"
    AVERAGE = "Average"
    SUM = "Sum"
    MINIMUM = "Minimum"
    MAXIMUM = "Maximum"


class Comparison(enum.StrEnum):
    GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
    GREATER = "GreaterThanThreshold"
    LESS = "LessThanThreshold"
    LESS_OR_EQUAL = "LessThanOrEqualToThreshold"
    OUTSIDE_BAND = "LessThanLowerOrGreaterThanUpperThreshold"
    BELOW_BAND = "LessThanLowerThreshold"
    ABOVE_BAND = "GreaterThanUpperThreshold"

    @property
    def is_band(self) -> bool:
        return self in BAND_OPERATORS


BAND_OPERATORS = frozenset(
    {
        Comparison.OUTSIDE_BAND,
        Comparison.BELOW_BAND,
        Comparison.ABOVE_BAND,
    }
)


class MissingData(enum.StrEnum):
    MISSING = "missing"
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    IGNORE = "ignore"


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class CloudWatchUnit(enum.StrEnum):
    SECONDS = "Seconds"
    MICROSECONDS = "Microseconds"
    MILLISECONDS = "Milliseconds"
    BYTES = "Bytes"
    KILOBYTES = "Kilobytes"
    MEGABYTES = "Megabytes"
    GIGABYTES = "Gigabytes"
    TERABYTES = "Terabytes"
    BITS = "Bits"
    KILOBITS = "Kilobits"
    MEGABITS = "Megabits"
    GIGABITS = "Gigabits"
    TERABITS = "Terabits"
    PERCENT = "Percent"
    COUNT = "Count"
    BYTES_PER_SECOND = "Bytes/Second"
    KILOBYTES_PER_SECOND = "Kilobytes/Second"
    MEGABYTES_PER_SECOND = "Megabytes/Second"
    GIGABYTES_PER_SECOND = "Gigabytes/Second"
    TERABYTES_PER_SECOND = "Terabytes/Second"
    BITS_PER_SECOND = "Bits/Second"
    KILOBITS_PER_SECOND = "Kilobits/Second"
    MEGABITS_PER_SECOND = "Megabits/Second"
    GIGABITS_PER_SECOND = "Gigabits/Second"
    TERABITS_PER_SECOND = "Terabits/Second"
    COUNT_PER_SECOND = "Count/Second"
    NONE = "None"


def _ascii(value: str) -> str:
    if not value.isascii():
        raise ValueError("must contain only ASCII characters")
    return value


AlarmName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Action = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Actions = Annotated[list[Action], Field(max_length=5)]
Description = Annotated[str, StringConstraints(max_length=1024)]


class AwsModel(BaseModel):
    """AWS's field names; unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Dimension(AwsModel):
    Name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    Value: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class MetricSpec(AwsModel):
    Namespace: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^:]")]
    MetricName: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []


class MetricStatSpec(AwsModel):
    Metric: MetricSpec
    Period: Annotated[int, Field(ge=1)]
    Stat: str
    Unit: CloudWatchUnit | None = None

    @model_validator(mode="after")
    def _stat(self) -> Self:
        check_period(self.Period)
        if self.Stat not in {s.value for s in StandardStatistic}:
            percentile_of(self.Stat)
        return self


class MetricDataQuery(AwsModel):
    Id: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[a-z]\w*$")]
    MetricStat: MetricStatSpec | None = None
    Expression: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    Label: str | None = None
    ReturnData: bool = True
    Period: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.MetricStat is None) == (self.Expression is None):
            raise ValueError("exactly one of MetricStat and Expression must be given")
        return self


class Tag(AwsModel):
    Key: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    Value: Annotated[str, StringConstraints(max_length=256)]


class AlarmBase(AwsModel):
    AlarmName: AlarmName
    AlarmDescription: Description = ""
    ActionsEnabled: bool = True
    OKActions: Actions = []
    AlarmActions: Actions = []
    InsufficientDataActions: Actions = []
    Tags: list[Tag] = []
    severity: Severity = Severity.WARNING
    runbook: Annotated[str, StringConstraints(max_length=4096)] = ""

    @model_validator(mode="after")
    def _common(self) -> Self:
        _ascii(self.AlarmName)
        for action in (*self.OKActions, *self.AlarmActions, *self.InsufficientDataActions):
            receiver_name(action)
        return self

    def receivers(self, state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]) -> tuple[str, ...]:
        """The receivers notified when the alarm enters `state` (none when actions are off)."""
        if not self.ActionsEnabled:
            return ()
        actions = {
            "ALARM": self.AlarmActions,
            "OK": self.OKActions,
            "INSUFFICIENT_DATA": self.InsufficientDataActions,
        }[state]
        return tuple(dict.fromkeys(receiver_name(a) for a in actions))


class MetricAlarm(AlarmBase):
    """PutMetricAlarm: one metric (MetricName ...) or an anomaly band over one (Metrics)."""

    Namespace: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    MetricName: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []
    Statistic: StandardStatistic | None = None
    ExtendedStatistic: str | None = None
    Period: int | None = None
    Unit: CloudWatchUnit | None = None
    EvaluationPeriods: Annotated[int, Field(ge=1)]
    DatapointsToAlarm: Annotated[int, Field(ge=1)] | None = None
    Threshold: float | None = None
    ComparisonOperator: Comparison
    TreatMissingData: MissingData = MissingData.MISSING
    Metrics: list[MetricDataQuery] | None = None
    ThresholdMetricId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    # Borealis evaluates a percentile whatever its sample count ("evaluate"); "ignore"
    # (keep the state while samples are few) is refused rather than silently not honoured.
    EvaluateLowSampleCountPercentile: Literal["evaluate"] | None = None

    @field_validator("Period")
    @classmethod
    def _period(cls, period: int | None) -> int | None:
        if period is not None:
            check_period(period)
        return period

    @field_validator("ExtendedStatistic")
    @classmethod
    def _percentile(cls, statistic: str | None) -> str | None:
        if statistic is not None:
            percentile_of(statistic)
        return statistic

    @model_validator(mode="after")
    def _rules(self) -> Self:
        single = self.MetricName is not None or self.Namespace is not None
        if single and self.Metrics is not None:
            raise ValueError("give either MetricName/Namespace or Metrics, not both")
        if not single and self.Metrics is None:
            raise ValueError("MetricName and Namespace (or Metrics) are required")
        if single:
            if self.MetricName is None or self.Namespace is None:
                raise ValueError("MetricName and Namespace go together")
            if (self.Statistic is None) == (self.ExtendedStatistic is None):
                raise ValueError("exactly one of Statistic and ExtendedStatistic must be given")
            if self.Period is None:
                raise ValueError("Period is required with MetricName")
        elif self.Statistic or self.ExtendedStatistic or self.Period or self.Dimensions:
            raise ValueError(
                "Statistic, ExtendedStatistic, Period and Dimensions belong in Metrics[].MetricStat"
            )
        if self.DatapointsToAlarm is not None and self.DatapointsToAlarm > self.EvaluationPeriods:
            raise ValueError("DatapointsToAlarm must not exceed EvaluationPeriods")
        if self.ComparisonOperator.is_band:
            if self.ThresholdMetricId is None:
                raise ValueError(f"{self.ComparisonOperator} needs ThresholdMetricId")
            if self.Threshold is not None:
                raise ValueError("Threshold and ThresholdMetricId are mutually exclusive")
        elif self.Threshold is None:
            raise ValueError(f"{self.ComparisonOperator} needs a Threshold")
        elif self.ThresholdMetricId is not None:
            raise ValueError("ThresholdMetricId needs an anomaly-band ComparisonOperator")
        if self.period_s * self.EvaluationPeriods > ONE_DAY_S:
            raise ValueError("EvaluationPeriods times Period must not exceed one day (86400 s)")
        return self

    @property
    def datapoints_to_alarm(self) -> int:
        return self.DatapointsToAlarm or self.EvaluationPeriods

    @property
    def period_s(self) -> int:
        if self.Period is not None:
            return self.Period
        stat = self.metric_stat
        return stat.Period if stat is not None else 60

    @property
    def metric_stat(self) -> MetricStatSpec | None:
        """The metric of an anomaly-band alarm (the MetricStat the band is computed over)."""
        for query in self.Metrics or ():
            if query.MetricStat is not None:
                return query.MetricStat
        return None


class CompositeAlarm(AlarmBase):
    """PutCompositeAlarm: a rule over other alarms' states."""

    AlarmRule: Annotated[str, StringConstraints(min_length=1, max_length=10240)]


class AlarmFile(AwsModel):
    """One file: the shape of DescribeAlarms' answer (MetricAlarms, CompositeAlarms)."""

    MetricAlarms: list[MetricAlarm] = []
    CompositeAlarms: list[CompositeAlarm] = []


def check_period(period: int) -> None:
    if period in HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0):
        return
    raise ValueError("Period must be 10, 20, 30 or a multiple of 60 seconds")


def percentile_of(statistic: str) -> float:
    """`p99.9` -> 0.999; CloudWatch's pNN between p0 and p100."""
    match = PERCENTILE.match(statistic)
    if match is None or float(match.group(1)) > 100:
        raise ValueError(
            f"ExtendedStatistic {statistic!r} is not supported: use a percentile p0 .. p100"
        )
    return float(Decimal(match.group(1)) / 100)  # p99.9 is 0.999, not 0.9990000000000001


def receiver_name(action: str) -> str:
    """The Borealis receiver an action names: an SNS topic ARN's topic, or a bare name."""
    match = SNS_ARN.match(action)
    if match is not None:
        return match.group(1)
    if TOPIC_NAME.match(action):
        return action
    raise ValueError(
        f"action {action!r} is neither an SNS topic ARN "
        "(arn:aws:sns:<region>:<account>:<topic>) nor a receiver name ([A-Za-z0-9_-])"
    )
