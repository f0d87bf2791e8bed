"""Role change, restart, reachability and replica disconnect from consecutive polls."""

from pathlib import Path

import pytest

from collector.detectors import Detectors, detectors_wanted
from collector.sources.base import InstancePoll
from collector.sources.instance import InstanceSnapshot
from collector.sources.replication import Downstream, Receiver, ReplicationSnapshot
from collector.targets import Target
from core.events import EventStore

WRITER = Target("ext", "ext-1", "host=a")
READER = Target("ext", "ext-2", "host=b")
STARTED = 1_000.0


def downstream(name: str, state: str = "streaming") -> Downstream:
    return Downstream(name, state, "async", 0, 0, 0, 0, 0, 0, 0)


def poll(
    target: Target,
    at: float,
    *,
    reader: bool = False,
    start: float = 500.0,
    streaming: bool = True,
    standbys: tuple[str, ...] = (),
    catching_up: tuple[str, ...] = (),
    ok: bool = True,
) -> InstancePoll:
    if not ok:
        return InstancePoll(target, at, at, False, "unknown", 0, errors={"connect": "refused"})
    instance = InstanceSnapshot(reader, start, 150000, None, 1, 100, 8192)
    receiver = Receiver(0, 0, "streaming" if streaming else None, False, 0) if reader else None
    senders = [downstream(n) for n in standbys] + [downstream(n, "catchup") for n in catching_up]
    replication = ReplicationSnapshot(tuple(senders), receiver)
    return InstancePoll(
        target,
        at,
        at,
        True,
        "reader" if reader else "writer",
        150000,
        results={"instance": instance, "replication": replication},
    )


@pytest.fixture
def detectors(tmp_path: Path) -> Detectors:
    return Detectors(EventStore(tmp_path / "events.db"), down_after_s=2.0, started_at=STARTED)


def ids(detectors: Detectors, *polls: InstancePoll) -> list[tuple[str, str]]:
    out = []
    for p in polls:
        out += [(e.event_id, e.source_identifier) for e in detectors.detect(p)]
    return out


def test_steady_polls_say_nothing(detectors: Detectors) -> None:
    assert ids(detectors, *(poll(WRITER, STARTED + i, standbys=("ext-2",)) for i in range(5))) == []


def test_a_promoted_reader_completes_a_failover(detectors: Detectors) -> None:
    got = ids(
        detectors,
        poll(READER, 1001, reader=True),
        poll(READER, 1002, reader=False),
    )
    assert got == [("RDS-EVENT-0071", "ext")]
    event = detectors.detect(poll(READER, 1003, reader=True))
    assert [(e.event_id, e.message) for e in event] == [
        ("BOREALIS-EVENT-0151", "The DB instance is now a reader; it was the writer.")
    ]


def test_a_changed_start_time_is_a_restart(detectors: Detectors) -> None:
    got = ids(detectors, poll(WRITER, 1001), poll(WRITER, 1002, start=1001.5))
    assert got == [("RDS-EVENT-0006", "ext-1")]


def test_down_then_back_is_reported_once_each_way(detectors: Detectors) -> None:
    got = ids(
        detectors,
        poll(WRITER, 1001),
        poll(WRITER, 1002, ok=False),
        poll(WRITER, 1003, ok=False),
        poll(WRITER, 1004.5, ok=False),
        poll(WRITER, 1005, ok=False),
        poll(WRITER, 1006, start=1005.5),
    )
    assert got == [
        ("BOREALIS-EVENT-0152", "ext-1"),
        ("BOREALIS-EVENT-0153", "ext-1"),
        ("RDS-EVENT-0006", "ext-1"),
    ]


def test_a_short_blip_is_not_an_outage(detectors: Detectors) -> None:
    assert (
        ids(detectors, poll(WRITER, 1001), poll(WRITER, 1002, ok=False), poll(WRITER, 1003)) == []
    )


def test_an_instance_that_came_up_after_the_collector_has_restarted(
    detectors: Detectors,
) -> None:
    got = ids(detectors, poll(WRITER, 1001, ok=False), poll(WRITER, 1002, start=1001.5))
    assert got == [("RDS-EVENT-0006", "ext-1")]
    # One that was already running when the collector started has not.
    assert ids(detectors, poll(READER, 1001, reader=True, start=10.0)) == []


def test_a_replica_disconnect_seen_from_both_ends_is_one_event(detectors: Detectors) -> None:
    got = ids(
        detectors,
        poll(WRITER, 1001, standbys=("ext-2", "seg-x")),
        poll(READER, 1001, reader=True),
        poll(READER, 1002, reader=True, streaming=False),  # the reader sees it first
        poll(WRITER, 1002, standbys=("seg-x",)),  # then the writer: no second event
        poll(WRITER, 1003, standbys=("seg-x", "ext-2")),  # back: resumed, once
        poll(READER, 1003, reader=True),
    )
    assert got == [("RDS-EVENT-0057", "ext-2"), ("RDS-EVENT-0046", "ext-2")]


def test_a_standby_leaving_the_writer_stops_replication(detectors: Detectors) -> None:
    got = ids(
        detectors,
        poll(WRITER, 1001, standbys=("walreceiver", "walreceiver")),
        poll(WRITER, 1002, standbys=("walreceiver",)),
    )
    assert got == [("RDS-EVENT-0045", "walreceiver")]


def test_a_writer_that_was_down_does_not_invent_disconnects(detectors: Detectors) -> None:
    assert ids(detectors, poll(WRITER, 1001, ok=False), poll(WRITER, 1002, standbys=())) == []


def test_a_restarted_writer_forgets_the_standbys_it_had_before(detectors: Detectors) -> None:
    """The standby reconnects and says it streams before the restarted writer lists it as
    streaming (its walsender is still catching up): the writer's list from before the outage
    must not turn that into a second stop and a second resume."""
    got = ids(
        detectors,
        poll(WRITER, 1001, standbys=("ext-2",)),
        poll(READER, 1001, reader=True),
        poll(WRITER, 1002, ok=False),  # the writer restarts
        poll(READER, 1002, reader=True, streaming=False),  # its standby loses the stream
        poll(READER, 1003, reader=True),  # and has it back first
        poll(WRITER, 1003.5, start=1003.0, catching_up=("ext-2",)),
        poll(WRITER, 1004, start=1003.0, standbys=("ext-2",)),
    )
    assert got == [
        ("RDS-EVENT-0057", "ext-2"),
        ("RDS-EVENT-0046", "ext-2"),
        ("RDS-EVENT-0006", "ext-1"),
    ]


def test_a_writer_restarted_between_two_polls_forgets_its_standbys(
    detectors: Detectors,
) -> None:
    """The same without a failed poll: a restart quicker than the poll interval."""
    got = ids(
        detectors,
        poll(WRITER, 1001, standbys=("ext-2",)),
        poll(READER, 1001, reader=True),
        poll(READER, 1002, reader=True, streaming=False),
        poll(READER, 1003, reader=True),
        poll(WRITER, 1003.5, start=1003.0, catching_up=("ext-2",)),
        poll(WRITER, 1004, start=1003.0, standbys=("ext-2",)),
    )
    assert got == [
        ("RDS-EVENT-0057", "ext-2"),
        ("RDS-EVENT-0046", "ext-2"),
        ("RDS-EVENT-0006", "ext-1"),
    ]


def test_a_writer_out_of_reach_forgets_its_standbys(detectors: Detectors) -> None:
    """No restart, just polls that failed (the collector lost the writer for a while)."""
    got = ids(
        detectors,
        poll(WRITER, 1001, standbys=("ext-2",)),
        poll(READER, 1001, reader=True),
        poll(WRITER, 1002, ok=False),
        poll(READER, 1002, reader=True, streaming=False),
        poll(READER, 1003, reader=True),
        poll(WRITER, 1003.5, catching_up=("ext-2",)),
        poll(WRITER, 1004, standbys=("ext-2",)),
    )
    assert got == [("RDS-EVENT-0057", "ext-2"), ("RDS-EVENT-0046", "ext-2")]


def test_events_reach_the_store(detectors: Detectors) -> None:
    detectors.observe(poll(READER, 1001, reader=True))
    detectors.observe(poll(READER, 1002))
    assert [e.message for e in detectors.store.list()] == [
        "Completed failover to DB instance: ext-2."
    ]


@pytest.mark.parametrize(
    ("mode", "from_file", "wanted"),
    [
        (None, True, True),
        (None, False, False),  # the Borealis manager emits these itself
        (True, False, True),
        (False, True, False),
    ],
)
def test_detectors_default_to_on_only_for_a_targets_file(
    mode: bool | None, from_file: bool, wanted: bool
) -> None:
    assert detectors_wanted(mode, from_file) is wanted
