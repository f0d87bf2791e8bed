from collector.alert import ClusterAlert
from collector.poller import changed
from collector.sources.base import InstancePoll
from collector.targets import Target

TARGET = Target("c", "c-1", "dbname=x")


def poll(ok: bool = True, role: str = "reader") -> InstancePoll:
    return InstancePoll(TARGET, 0.0, 0.0, ok, role, 150000)


def test_a_failed_poll_or_a_new_role_raises_the_alert() -> None:
    assert changed(poll(), poll(ok=False))
    assert changed(poll(role="reader"), poll(role="writer"))
    assert not changed(poll(), poll())
    assert not changed(None, poll(ok=False))
    assert not changed(poll(ok=False), poll(ok=False))  # still down: already raised


def test_alert_speeds_up_every_subscriber_for_a_while() -> None:
    alert = ClusterAlert(fast_interval_s=0.2, duration_s=60)
    first, second = alert.subscribe(), alert.subscribe()
    assert alert.interval(1.0) == 1.0
    alert.raise_alert()
    assert first.is_set() and second.is_set()
    assert alert.interval(1.0) == 0.2
    assert alert.interval(0.1) == 0.1  # never slower than asked for
    expired = ClusterAlert(fast_interval_s=0.2, duration_s=0)
    expired.raise_alert()
    assert expired.interval(1.0) == 1.0
