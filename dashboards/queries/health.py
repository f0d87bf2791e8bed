"""Events, alerts and the collector's own health."""

from __future__ import annotations

from dashboards.queries.cluster import NATIVE_SCOPE, NATIVE_SOURCE
from dashboards.queries.model import BLUE, GREEN, ORANGE, RED, Annotation, Board, Panel, Query

SCRAPE_JOB = 'job="borealis"'


def _per_instance(series: str) -> str:
    """`series` with the role label aggregated away: a failover swaps an instance's role
    label, and the instance must stay one series across it."""
    return f"max by (cluster, db_instance) ({series}{{$scope}})"


def _before(series: str, window: str) -> str:
    """The instance's largest value of `series` in `window` up to 15 s ago: what it was
    before a change, across the gap an instance leaves in its series while it fails over or
    restarts (a `changes()` window would have to outlast that gap)."""
    return (
        f"max by (cluster, db_instance) (max_over_time({series}{{$scope}}[{window}] offset {EDGE}))"
    )


# A change is marked for this long after the first new sample.
EDGE = "15s"
# The instance is the writer now and was not in the 5 minutes before.
FAILOVER = Annotation(
    "Failover",
    f"({_per_instance('borealis_instance_is_writer')} == 1) "
    f"and on (cluster, db_instance) ({_before('borealis_instance_is_writer', '5m')} == 0)",
    "failover: {db_instance} is the writer",
    RED,
)
# The postmaster started after any start time seen in the 10 minutes before.
RESTART = Annotation(
    "Restart",
    f"{_per_instance('borealis_postmaster_start_time_seconds')} > on (cluster, db_instance) "
    f"{_before('borealis_postmaster_start_time_seconds', '10m')}",
    "restart: {db_instance}",
    ORANGE,
)
ALARM = Annotation(
    "Alarm",
    'ALERTS{alertstate="firing"}',
    "alarm: {alertname}",
    "purple",
)

WRITER_OVER_TIME = Panel(
    "Writer over time",
    (Query(_per_instance("borealis_instance_is_writer"), "{db_instance}"),),
    "none",
    ((1, ORANGE),),
    base_color=BLUE,
    description="1 while the instance is the writer: failovers show as swaps.",
    kind="state",
    width=24,
)
TIMELINE = Panel(
    "WAL timeline",
    (Query(_per_instance("borealis_timeline_id"), "{db_instance}"),),
    "none",
    ((100, ORANGE),),
    description="Every promotion starts a new timeline.",
)
UPTIME = Panel(
    "Uptime (EngineUptime)",
    (Query("time() - borealis_postmaster_start_time_seconds{$scope}", "{db_instance}"),),
    "dtdurations",
    ((300, GREEN),),
    base_color=ORANGE,
    description="Seconds since the postmaster started: a restart drops it to 0.",
    minimum=0,
)

EVENTS = Board(
    "borealis-events",
    "Borealis / Events",
    "Failovers, restarts and alarms as annotations over the writer's and the timelines' history.",
    (("Roles and restarts", (WRITER_OVER_TIME, TIMELINE, UPTIME)),),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
    annotations=(FAILOVER, RESTART, ALARM),
)

FIRING = Panel(
    "Firing alerts",
    (Query('ALERTS{alertstate="firing"}', instant=True),),
    "none",
    ((1, RED),),
    description="Every alert Prometheus fires now, with its labels (Alertmanager routes them).",
    kind="table",
    width=24,
)
ALARM_STATES = Panel(
    "Alarm states",
    (Query("max by (alertname, alertstate) (ALERTS)", "{alertname} {alertstate}"),),
    "none",
    ((1, RED),),
    base_color=GREEN,
    description="Pending and firing alarms over time.",
    kind="state",
    width=24,
)
CLOUDWATCH_ALARM_STATES = Panel(
    "CloudWatch alarm states",
    (Query("max by (alarm_name) (alarm:state)", "{alarm_name}"),),
    "none",
    ((1, ORANGE), (2, RED)),
    base_color=GREEN,
    description=(
        "Each alarm's CloudWatch state as the compiled rules record it (alarm:state): "
        "0 OK, 1 INSUFFICIENT_DATA, 2 ALARM."
    ),
    kind="state",
    width=24,
)
FIRING_COUNT = Panel(
    "Firing alerts by severity",
    (Query('count by (severity) (ALERTS{alertstate="firing"})', "{severity}"),),
    "short",
    ((1, RED),),
    minimum=0,
    stacked=True,
    width=24,
)

ALERTS = Board(
    "borealis-alerts",
    "Borealis / Alerts",
    "Firing and pending alarms (Prometheus' ALERTS series; Alertmanager has them too) and "
    "every alarm's CloudWatch state.",
    (("Alarms", (FIRING, ALARM_STATES, CLOUDWATCH_ALARM_STATES, FIRING_COUNT)),),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
    annotations=(ALARM,),
    variables=(),  # alerts carry the labels their rules give them: no common filter
)

SCRAPE_UP = Panel(
    "Collector scrape up",
    (Query(f"up{{{SCRAPE_JOB}}}", "{instance}"),),
    "none",
    ((1, GREEN),),
    base_color=RED,
    kind="stat",
    width=8,
)
SCRAPE_DURATION = Panel(
    "Scrape duration",
    (Query(f"scrape_duration_seconds{{{SCRAPE_JOB}}}", "{instance}"),),
    "s",
    ((0.5, ORANGE), (1, RED)),
    description="Time Prometheus takes to scrape the collector (the scrape interval is 1 s).",
    minimum=0,
    width=8,
)
SCRAPE_SAMPLES = Panel(
    "Samples per scrape",
    (Query(f"scrape_samples_scraped{{{SCRAPE_JOB}}}", "{instance}"),),
    "short",
    ((50000, ORANGE), (200000, RED)),
    minimum=0,
    width=8,
)
POLL_AGE = Panel(
    "Seconds since the last poll answered",
    (Query("borealis_poll_age_seconds{$scope}", "{db_instance}"),),
    "s",
    ((5, ORANGE), (15, RED)),
    minimum=0,
)
SOURCE_DURATION = Panel(
    "Slowest poll per source",
    (Query("max by (source) (borealis_source_duration_seconds{$scope})", "{source}"),),
    "s",
    ((0.5, ORANGE), (1, RED)),
    minimum=0,
)
SOURCE_SUCCESS = Panel(
    "Sources succeeding",
    (Query("min by (source) (borealis_source_success{$scope})", "{source}"),),
    "none",
    ((1, GREEN),),
    base_color=RED,
    kind="state",
    width=24,
)
POLL_ERRORS = Panel(
    "Poll and sampler errors per second",
    (
        Query("rate(borealis_poll_errors_total{$scope}[$window])", "poll {db_instance}"),
        Query("rate(borealis_sampler_errors_total{$scope}[$window])", "sampler {db_instance}"),
    ),
    "ops",
    ((0.1, ORANGE), (1, RED)),
    minimum=0,
)
SAMPLER_DURATION = Panel(
    "Active-session sampler round trip",
    (Query("borealis_sampler_duration_seconds{$scope}", "{db_instance}"),),
    "s",
    ((0.5, ORANGE), (1, RED)),
    minimum=0,
)

COLLECTOR = Board(
    "borealis-collector",
    "Borealis / Collector health",
    "Is the collector scraped, are its polls and samples on time, which sources fail.",
    (
        ("Scrape", (SCRAPE_UP, SCRAPE_DURATION, SCRAPE_SAMPLES)),
        ("Polls", (POLL_AGE, SOURCE_DURATION, SOURCE_SUCCESS, POLL_ERRORS, SAMPLER_DURATION)),
    ),
    NATIVE_SCOPE,
    NATIVE_SOURCE,
)
