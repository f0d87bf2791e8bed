"""Alertmanager's webhook payload (version 4) as pydantic models.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config: ``version``,
``groupKey``, ``truncatedAlerts``, ``status``, ``receiver``, ``groupLabels``,
``commonLabels``, ``commonAnnotations``, ``externalURL`` and ``alerts``, each alert with
``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL`` and
``fingerprint``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.httpapi import RequestModel

Status = Literal["firing", "resolved"]


class WebhookAlert(RequestModel):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = ""


class WebhookPayload(RequestModel):
    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int = Field(0, ge=0)
    status: Status
    receiver: str = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[WebhookAlert] = Field(min_length=1)
