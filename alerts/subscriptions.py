"""RDS event subscriptions (CreateEventSubscription's fields) and which events they match.

A subscription names a receiver the way an alarm action does (a bare Borealis receiver name,
or an SNS topic ARN whose topic is one), a source type (none: every type), source IDs (none:
every source of that type), event categories (none: every category) and whether it is
enabled. Categories are checked against the ones RDS documents for the source type
(aurora-facts §4), plus the categories of Borealis' own events of that type (``storage``,
``security``, ``audit``: core.events.CATALOG), so every stored event can be subscribed to.

The subscriptions live in ``<state>/alarms/subscriptions.yml`` (subscriptions_store).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from alerts.model import receiver_name
from core.errors import BorealisError
from core.events import CATALOG, Event

EVENT_ALERTNAME = "RDSEvent"  # the alertname of every alert an event subscription sends
REGION = "local-1"
ACCOUNT = "000000000000"

# RDS's own categories per source type (aurora-facts §4; RDS User Guide, event categories).
RDS_CATEGORIES: dict[str, tuple[str, ...]] = {
    "db-instance": (
        "availability",
        "backtrack",
        "backup",
        "configuration change",
        "creation",
        "deletion",
        "failover",
        "failure",
        "low storage",
        "maintenance",
        "notification",
        "read replica",
        "recovery",
        "restoration",
        "security patching",
    ),
    "db-cluster": (
        "configuration change",
        "creation",
        "deletion",
        "failover",
        "failure",
        "global failover",
        "maintenance",
        "notification",
    ),
    "db-cluster-snapshot": ("backup", "creation", "deletion", "notification", "restoration"),
    "db-snapshot": ("creation", "deletion", "notification", "restoration"),
    "db-parameter-group": ("configuration change",),
    "db-security-group": ("configuration change", "failure"),
    "db-proxy": ("configuration change", "creation", "deletion"),
}


def categories_for(source_type: str | None) -> frozenset[str]:
    """The categories a subscription to `source_type` (None: every type) may name."""
    types = list(RDS_CATEGORIES) if source_type is None else [source_type]
    known = {category for t in types for category in RDS_CATEGORIES[t]}
    known |= {kind.category for kind in CATALOG.values() if kind.source_type.value in types}
    return frozenset(known)


class SubscriptionError(BorealisError):
    """A request the subscriptions refuse; `code` is RDS's fault name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _receiver(value: str) -> str:
    receiver_name(value)  # raises ValueError with the reason
    return value


def _source_type(value: str) -> str:
    if value not in RDS_CATEGORIES:
        raise ValueError(f"SourceType must be one of {', '.join(RDS_CATEGORIES)}, not {value!r}")
    return value


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z][A-Za-z0-9-]*$"),
]
SourceId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\s,]+$")]


class EventSubscription(BaseModel):
    """One subscription as stored; the names are CreateEventSubscription's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SubscriptionName: Name
    SnsTopicArn: Annotated[str, StringConstraints(min_length=1), AfterValidator(_receiver)]
    SourceType: Annotated[str, AfterValidator(_source_type)] | None = None
    SourceIds: Annotated[list[SourceId], Field(max_length=100)] = []
    EventCategories: list[Annotated[str, StringConstraints(min_length=1)]] = []
    Enabled: bool = True
    SubscriptionCreationTime: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds")
    )

    @model_validator(mode="after")
    def _consistent(self) -> EventSubscription:
        if self.SourceIds and self.SourceType is None:
            raise ValueError("SourceIds need a SourceType (as on RDS)")
        known = categories_for(self.SourceType)
        wrong = [c for c in self.EventCategories if c not in known]
        if wrong:
            of = f"source type {self.SourceType}" if self.SourceType else "any source type"
            raise ValueError(
                f"EventCategories {wrong} are not categories of {of}; "
                f"known: {', '.join(sorted(known))}"
            )
        return self

    @property
    def receiver(self) -> str:
        return receiver_name(self.SnsTopicArn)

    @property
    def arn(self) -> str:
        return f"arn:aws:rds:{REGION}:{ACCOUNT}:es:{self.SubscriptionName}"

    def matches(self, event: Event) -> bool:
        """RDS's rule: enabled, and each filter empty or met (any category of the event)."""
        if not self.Enabled:
            return False
        if self.SourceType is not None and event.source_type.value != self.SourceType:
            return False
        if self.SourceIds and event.source_identifier not in self.SourceIds:
            return False
        return not self.EventCategories or bool(set(event.categories) & set(self.EventCategories))

    def to_rds(self) -> dict[str, Any]:
        """DescribeEventSubscriptions' EventSubscription shape."""
        return {
            "CustomerAwsId": ACCOUNT,
            "CustSubscriptionId": self.SubscriptionName,
            "SnsTopicArn": self.SnsTopicArn,
            "Status": "active",
            "SubscriptionCreationTime": self.SubscriptionCreationTime,
            "SourceType": self.SourceType,
            "SourceIdsList": list(self.SourceIds),
            "EventCategoriesList": list(self.EventCategories),
            "Enabled": self.Enabled,
            "EventSubscriptionArn": self.arn,
        }


def first_problem(exc: ValidationError) -> str:
    """One line for a refused subscription: the field and the reason."""
    error = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = re.sub(r"^Value error, ", "", str(error["msg"]))
    return f"{where}: {message}" if where else message


def parse_subscription(fields: dict[str, Any]) -> EventSubscription:
    """A subscription from request fields, or SubscriptionError with the reason."""
    try:
        return EventSubscription.model_validate(fields)
    except ValidationError as exc:
        problem = first_problem(exc)
        code = (
            "SubscriptionCategoryNotFound" if "EventCategories" in problem else "InvalidParameter"
        )
        if "SnsTopicArn" in problem:
            code = "SNSInvalidTopic"
        raise SubscriptionError(code, problem) from None
