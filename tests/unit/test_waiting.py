"""core.waiting.wait_until: returns the first truthy value, names what it waited for on
timeout, retries only the errors it is told to, stops on its event, and keeps time with
time.monotonic (a fake clock here, so no test depends on the machine's speed)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from core import waiting
from core.errors import BorealisError
from core.waiting import WaitStopped, WaitTimeout, wait_until
from testsupport.waiting import answers_200


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    monkeypatch.setattr(waiting.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(waiting.time, "sleep", fake.sleep)
    yield fake


def returning(*values: object) -> tuple[Callable[[], object], list[int]]:
    """A condition that returns `values` in turn (the last one forever) and counts its calls."""
    calls = [0]

    def condition() -> object:
        calls[0] += 1
        return values[min(calls[0], len(values)) - 1]

    return condition, calls


def test_returns_the_first_truthy_value(clock: FakeClock) -> None:
    condition, calls = returning(None, 0, "", {"id": "writer-1"}, "later")
    assert wait_until(condition, timeout=10, what="a writer") == {"id": "writer-1"}
    assert calls[0] == 4
    assert clock.sleeps == [0.2, 0.2, 0.2]


def test_a_truthy_first_answer_does_not_sleep(clock: FakeClock) -> None:
    assert wait_until(lambda: 7, timeout=0, what="seven") == 7
    assert clock.sleeps == []


def test_timeout_names_what_it_waited_for_and_the_last_value(clock: FakeClock) -> None:
    condition, calls = returning([], [], 0)
    with pytest.raises(WaitTimeout) as caught:
        wait_until(condition, timeout=5, interval=1, what="the replica to catch up")
    message = str(caught.value)
    assert "timed out after 5 s waiting for the replica to catch up" in message
    assert "last value 0" in message
    assert caught.value.last_value == 0
    assert caught.value.last_error is None
    assert isinstance(caught.value, BorealisError)
    # checked at 0, 1, ..., 5: once more at the deadline itself
    assert calls[0] == 6
    assert sum(clock.sleeps) == 5


def test_the_last_pause_is_cut_to_the_deadline(clock: FakeClock) -> None:
    with pytest.raises(WaitTimeout):
        wait_until(lambda: False, timeout=2.5, interval=1, what="nothing")
    assert clock.sleeps == [1, 1, 0.5]


@pytest.mark.parametrize("timeout", [0.0, -3.0])
def test_a_zero_or_past_timeout_checks_exactly_once(clock: FakeClock, timeout: float) -> None:
    condition, calls = returning(False)
    with pytest.raises(WaitTimeout):
        wait_until(condition, timeout=timeout, what="once")
    assert calls[0] == 1
    assert clock.sleeps == []


def test_retried_errors_are_kept_and_chained(clock: FakeClock) -> None:
    attempts = [0]

    def refuses() -> bool:
        attempts[0] += 1
        raise ConnectionRefusedError(f"attempt {attempts[0]}")

    with pytest.raises(WaitTimeout) as caught:
        wait_until(refuses, timeout=1, interval=0.5, what="a port", retry_on=(OSError,))
    assert attempts[0] == 3
    assert "last error ConnectionRefusedError: attempt 3" in str(caught.value)
    assert caught.value.__cause__ is caught.value.last_error
    assert str(caught.value.last_error) == "attempt 3"


def test_a_retried_error_then_success_returns(clock: FakeClock) -> None:
    answers: list[object] = [OSError("not yet"), OSError("not yet"), "up"]

    def condition() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_until(condition, timeout=5, what="up", retry_on=(OSError,)) == "up"


def test_errors_not_named_propagate_at_once(clock: FakeClock) -> None:
    calls = [0]

    def broken() -> bool:
        calls[0] += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_until(broken, timeout=60, what="a bug", retry_on=(OSError,))
    assert calls[0] == 1
    assert clock.sleeps == []


def test_a_set_stop_event_ends_the_wait_before_any_call(clock: FakeClock) -> None:
    stop = threading.Event()
    stop.set()
    condition, calls = returning(True)
    with pytest.raises(WaitStopped, match="stopped while waiting for the writer"):
        wait_until(condition, timeout=60, what="the writer", stop=stop)
    assert calls[0] == 0


@pytest.mark.timeout(30)
def test_setting_stop_cuts_the_pause_short() -> None:
    """Real time: a pause of ten minutes ends when another thread sets the event (the
    pytest-timeout above fails the test if it does not)."""
    stop = threading.Event()
    called = threading.Event()

    def condition() -> bool:
        called.set()
        return False

    setter = threading.Thread(target=lambda: called.wait(10) and stop.set())
    setter.start()
    with pytest.raises(WaitStopped):
        wait_until(condition, timeout=600, interval=600, what="never", stop=stop)
    setter.join()


@pytest.mark.parametrize("interval", [0.0, -0.5])
def test_an_interval_that_would_spin_is_refused(interval: float) -> None:
    with pytest.raises(ValueError, match="waiting for x: the interval must be > 0"):
        wait_until(lambda: True, timeout=1.0, interval=interval, what="x")


def test_answers_200_is_false_until_the_answer_is_200_and_while_nobody_listens() -> None:
    statuses = iter([503, 503, 200])

    class Starting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"Service Unavailable"  # as Prometheus says while it starts
            self.send_response(next(statuses))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Starting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/-/ready"
    try:
        assert [answers_200(url) for _ in range(3)] == [False, False, True]
    finally:
        server.shutdown()
        server.server_close()
    assert not answers_200(url, timeout=1)  # nobody listens: not ready, no exception
