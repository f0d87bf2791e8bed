"""Request models of the alarm operations, with PutMetricAlarm's field names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from alerts.cloudwatch_api.models import Dimension, MetricSpec, Timestamp
from core.httpapi import RequestModel

AlarmNameText = Annotated[str, Field(min_length=1, max_length=255)]
Actions = Annotated[list[Annotated[str, Field(min_length=1, max_length=1024)]], Field(max_length=5)]
StateValueName = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
AlarmTypeName = Literal["CompositeAlarm", "MetricAlarm"]
ComparisonOperatorName = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
]
BAND_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)


class Tag(RequestModel):
    Key: Annotated[str, Field(min_length=1, max_length=128)]
    Value: Annotated[str, Field(max_length=256)]


class MetricStatForAlarm(RequestModel):
    Metric: MetricSpec
    Period: Annotated[int, Field(ge=1)]
    Stat: str
    Unit: str | None = None


class AlarmMetricQuery(RequestModel):
    Id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[a-z][a-zA-Z0-9_]*$")]
    MetricStat: MetricStatForAlarm | None = None
    Expression: str | None = None
    Label: str | None = None
    ReturnData: bool | None = None
    Period: int | None = None


class _AlarmCommon(RequestModel):
    AlarmName: AlarmNameText
    AlarmDescription: Annotated[str, Field(max_length=1024)] | None = None
    ActionsEnabled: bool = True
    OKActions: Actions = []
    AlarmActions: Actions = []
    InsufficientDataActions: Actions = []
    Tags: list[Tag] = []


class PutMetricAlarmRequest(_AlarmCommon):
    MetricName: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    Namespace: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    Statistic: Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"] | None = None
    ExtendedStatistic: str | None = None
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []
    Period: Annotated[int, Field(ge=1)] | None = None
    Unit: str | None = None
    EvaluationPeriods: Annotated[int, Field(ge=1)]
    DatapointsToAlarm: Annotated[int, Field(ge=1)] | None = None
    Threshold: float | None = None
    ComparisonOperator: ComparisonOperatorName
    TreatMissingData: Literal["breaching", "notBreaching", "ignore", "missing"] | None = None
    EvaluateLowSampleCountPercentile: Literal["evaluate", "ignore"] | None = None
    Metrics: list[AlarmMetricQuery] | None = None
    ThresholdMetricId: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PutMetricAlarmRequest:
        if self.DatapointsToAlarm is not None and self.DatapointsToAlarm > self.EvaluationPeriods:
            raise ValueError("DatapointsToAlarm must not exceed EvaluationPeriods")
        return self


class PutCompositeAlarmRequest(_AlarmCommon):
    AlarmRule: Annotated[str, Field(min_length=1, max_length=10240)]
    ActionsSuppressor: str | None = None
    ActionsSuppressorWaitPeriod: int | None = None
    ActionsSuppressorExtensionPeriod: int | None = None


class DescribeAlarmsRequest(RequestModel):
    AlarmNames: Annotated[list[AlarmNameText], Field(max_length=100)] | None = None
    AlarmNamePrefix: AlarmNameText | None = None
    AlarmTypes: list[AlarmTypeName] | None = None
    StateValue: StateValueName | None = None
    ActionPrefix: str | None = None
    MaxRecords: Annotated[int, Field(ge=1, le=100)] = 50
    NextToken: str | None = None


class DescribeAlarmHistoryRequest(RequestModel):
    AlarmName: AlarmNameText | None = None
    AlarmTypes: list[AlarmTypeName] | None = None
    HistoryItemType: Literal["ConfigurationUpdate", "StateUpdate", "Action"] | None = None
    StartDate: Timestamp | None = None
    EndDate: Timestamp | None = None
    MaxRecords: Annotated[int, Field(ge=1, le=100)] = 100
    NextToken: str | None = None
    ScanBy: Literal["TimestampDescending", "TimestampAscending"] = "TimestampDescending"


class DeleteAlarmsRequest(RequestModel):
    AlarmNames: Annotated[list[AlarmNameText], Field(min_length=1, max_length=100)]


class SetAlarmStateRequest(RequestModel):
    AlarmName: AlarmNameText
    StateValue: StateValueName
    StateReason: Annotated[str, Field(min_length=0, max_length=1023)]
    StateReasonData: Annotated[str, Field(max_length=4000)] | None = None
