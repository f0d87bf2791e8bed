"""Waiting on a condition: one helper instead of a hand-written deadline loop per caller.

    ready = wait_until(lambda: probe(), timeout=30, what="the writer to accept connections")

`condition` is called until it returns something truthy, which `wait_until` returns. It is
always called at least once, and once more at the deadline, so a zero (or negative: a deadline
already past) timeout means "check once". Exceptions of the types in `retry_on` count as "not
yet" and are kept as the last error; any other exception propagates at once (by default
nothing is retried: a bug in a condition must not look like a slow system). Time is
`time.monotonic()`, so a clock step cannot cut a wait short or stretch it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from core.errors import BorealisError

T = TypeVar("T")


class WaitTimeout(BorealisError):
    """The condition did not hold in time; names what was awaited, the last value and error."""

    def __init__(
        self, what: str, timeout: float, last_value: object, last_error: BaseException | None
    ) -> None:
        self.what = what
        self.timeout = timeout
        self.last_value = last_value
        self.last_error = last_error
        detail = f"last value {last_value!r}"
        if last_error is not None:
            detail += f", last error {type(last_error).__name__}: {last_error}"
        super().__init__(f"timed out after {timeout:g} s waiting for {what} ({detail})")


class WaitStopped(BorealisError):
    """The stop event was set before the condition held."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"stopped while waiting for {what}")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    retry_on: tuple[type[BaseException], ...] = (),
    stop: threading.Event | None = None,
) -> T:
    """Call `condition` every `interval` seconds until it returns something truthy; return it.

    Raises `WaitTimeout` after `timeout` seconds (chained to the last retried error) and
    `WaitStopped` as soon as `stop` is set; the pause between calls ends early on `stop`."""
    if interval <= 0:
        raise ValueError(f"waiting for {what}: the interval must be > 0, not {interval}")
    deadline = time.monotonic() + max(0.0, timeout)
    last_value: object = None
    last_error: BaseException | None = None
    while True:
        if stop is not None and stop.is_set():
            raise WaitStopped(what)
        try:
            value = condition()
        except retry_on as exc:
            last_error = exc
        else:
            if value:
                return value
            last_value = value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, last_value, last_error) from last_error
        pause = min(interval, remaining)
        if stop is None:
            time.sleep(pause)
        elif stop.wait(pause):
            raise WaitStopped(what)


def until_stopped(stop: threading.Event, poll_s: float = 0.5) -> None:
    """Block the main thread of a service until `stop` is set, by its signal handler or
    otherwise; the handler runs within `poll_s`.

    A plain `stop.wait()` can hang for good: a SIGTERM that reaches a stopped process (after
    SIGSTOP, Ctrl-Z, a debugger) is taken on SIGCONT by whichever thread wakes first, and when
    that is not the main thread, Python runs the handler only once the main thread executes
    bytecode again, which a wait with no timeout never lets it do.
    """
    while not stop.wait(poll_s):
        pass
