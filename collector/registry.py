"""The private registry: one collector per data source, plus health and DB load.

Every `collect()` builds fresh families from the latest polls of the instances that are up;
an instance that is down shows only `borealis_up 0` (a dead source must look dead).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.pi_catalog import OTHER
from collector.poller import InstancePoller
from collector.sampler import SessionSampler
from collector.sources.base import INSTANCE_LABELS, InstancePoll, Source


def _labels(poller: InstancePoller) -> list[str]:
    t = poller.target
    return [t.cluster, t.db_instance, poller.role, t.az]


def live_polls(pollers: Sequence[InstancePoller], now: float) -> list[InstancePoll]:
    return [p.latest for p in pollers if p.latest is not None and p.is_up(now)]


class SourceCollector(Collector):
    def __init__(self, source: Source, pollers: Sequence[InstancePoller]) -> None:
        self.source = source
        self.pollers = pollers

    def collect(self) -> Iterable[Metric]:
        polls = live_polls(self.pollers, time.monotonic())
        return self.source.families(polls)


class HealthCollector(Collector):
    """`borealis_up` per instance and the duration and success of every source."""

    def __init__(
        self, pollers: Sequence[InstancePoller], samplers: Sequence[SessionSampler]
    ) -> None:
        self.pollers = pollers
        self.samplers = samplers

    def collect(self) -> Iterable[Metric]:
        now = time.monotonic()
        up = GaugeMetricFamily(
            "borealis_up",
            "1 when the instance answered its last poll in time.",
            labels=INSTANCE_LABELS,
        )
        age = GaugeMetricFamily(
            "borealis_poll_age_seconds",
            "Seconds since the instance last answered a poll.",
            labels=INSTANCE_LABELS,
        )
        duration = GaugeMetricFamily(
            "borealis_source_duration_seconds",
            "How long each source took in the last poll.",
            labels=[*INSTANCE_LABELS, "source"],
        )
        success = GaugeMetricFamily(
            "borealis_source_success",
            "1 when the source succeeded in the last poll (no rows is success).",
            labels=[*INSTANCE_LABELS, "source"],
        )
        polls = CounterMetricFamily(
            "borealis_polls", "Polls attempted per instance.", labels=INSTANCE_LABELS
        )
        poll_errors = CounterMetricFamily(
            "borealis_poll_errors", "Polls that failed per instance.", labels=INSTANCE_LABELS
        )
        for poller in self.pollers:
            labels = _labels(poller)
            up.add_metric(labels, 1 if poller.is_up(now) else 0)
            polls.add_metric(labels, poller.polls_total)
            poll_errors.add_metric(labels, poller.poll_errors_total)
            poll = poller.latest
            if poll is None:
                continue
            age.add_metric(labels, now - poll.at)
            for source in sorted(set(poll.durations) | set(poll.errors)):
                duration.add_metric([*labels, source], poll.durations.get(source, 0.0))
                success.add_metric([*labels, source], 0 if source in poll.errors else 1)
        sampler_errors = CounterMetricFamily(
            "borealis_sampler_errors", "Failed active-session samples.", labels=INSTANCE_LABELS
        )
        sampler_duration = GaugeMetricFamily(
            "borealis_sampler_duration_seconds",
            "How long the last round trip of active-session samples took; below 1 s "
            "sampling it spans a second's worth of samples (the server sleeps between them).",
            labels=INSTANCE_LABELS,
        )
        by_id = {p.target.db_instance: p for p in self.pollers}
        for sampler in self.samplers:
            owner = by_id.get(sampler.target.db_instance)
            if owner is None:
                continue
            sampler_errors.add_metric(_labels(owner), sampler.errors_total)
            sampler_duration.add_metric(_labels(owner), sampler.last_duration)
        yield from (
            up,
            age,
            duration,
            success,
            polls,
            poll_errors,
            sampler_errors,
            sampler_duration,
        )


class LoadCollector(Collector):
    """DB load as active-session-seconds counters: rate() is AAS."""

    def __init__(
        self, pollers: Sequence[InstancePoller], samplers: Sequence[SessionSampler]
    ) -> None:
        self.pollers = {p.target.db_instance: p for p in pollers}
        self.samplers = samplers

    def collect(self) -> Iterable[Metric]:
        now = time.monotonic()
        load = CounterMetricFamily(
            "borealis_db_load_seconds",
            "Active-session-seconds by wait event (PI DB load; CPU when not waiting). "
            "rate() of it is the average active sessions.",
            labels=[*INSTANCE_LABELS, "wait_event_type", "wait_event"],
        )
        samples = CounterMetricFamily(
            "borealis_db_load_samples",
            "Active-session samples taken.",
            labels=INSTANCE_LABELS,
        )
        sampled = CounterMetricFamily(
            "borealis_db_load_sampled_seconds",
            "Seconds covered by active-session samples.",
            labels=INSTANCE_LABELS,
        )
        by_sql = CounterMetricFamily(
            "borealis_db_load_by_sql_seconds",
            "Active-session-seconds by SQL digest: the top collector.max_digests digests by "
            'recent load, the rest as digest_id="other". rate() is AAS.',
            labels=[*INSTANCE_LABELS, "digest_id"],
        )
        digest_info = GaugeMetricFamily(
            "borealis_db_sql_digest_info",
            "The normalised text (literals as ?, first 100 characters) of each digest with "
            "its own load series; the value is always 1.",
            labels=[*INSTANCE_LABELS, "digest_id", "digest_text"],
        )
        by_dimension = {
            name: CounterMetricFamily(
                f"borealis_db_load_by_{name}_seconds",
                f"Active-session-seconds by {name.replace('_', ' ')} (capped at "
                'collector.max_dimension_values, the rest as "other"). rate() is AAS.',
                labels=[*INSTANCE_LABELS, name],
            )
            for name in ("user", "database", "application", "host", "session_type")
        }
        wait_sampling = GaugeMetricFamily(
            "borealis_sampler_wait_sampling",
            "1 when pg_wait_sampling's history refines the wait attribution of DB load.",
            labels=INSTANCE_LABELS,
        )
        for sampler in self.samplers:
            poller = self.pollers.get(sampler.target.db_instance)
            if poller is None or not poller.is_up(now):
                continue
            labels = _labels(poller)
            by_wait, count, seconds = sampler.load.snapshot()
            if not any(key == ("CPU", "CPU") for key in by_wait):
                by_wait[("CPU", "CPU")] = 0.0  # always present, so rate() starts at 0
            for (wait_type, wait_event), value in sorted(by_wait.items()):
                load.add_metric([*labels, wait_type, wait_event], value)
            samples.add_metric(labels, count)
            sampled.add_metric(labels, seconds)
            totals, other = sampler.load.by_sql.snapshot()
            for digest_id, value in sorted(totals.items()):
                by_sql.add_metric([*labels, digest_id], value)
                text = sampler.digests.text(digest_id)[:100]
                digest_info.add_metric([*labels, digest_id, text], 1)
            by_sql.add_metric([*labels, OTHER], other)
            for name, family in by_dimension.items():
                totals, other = sampler.load.by_dimension[name].snapshot()
                for value_label, value in sorted(totals.items()):
                    family.add_metric([*labels, value_label], value)
                family.add_metric([*labels, OTHER], other)
            wait_sampling.add_metric(labels, 1 if sampler.wait_sampling_schema else 0)
        yield from (load, samples, sampled, by_sql, digest_info, *by_dimension.values())
        yield wait_sampling


def build_registry(
    sources: Sequence[Source],
    pollers: Sequence[InstancePoller],
    samplers: Sequence[SessionSampler],
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(pollers, samplers))
    for source in sources:
        registry.register(SourceCollector(source, pollers))
    registry.register(LoadCollector(pollers, samplers))
    return registry
