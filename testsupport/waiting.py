"""`wait_for`: `core.waiting.wait_until` as tests want it: any exception is "not yet", and
a timeout fails the test (AssertionError) naming what it waited for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from core.waiting import WaitTimeout, wait_until

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float, interval: float = 0.2, what: str = "") -> T:
    """Poll `check` until it returns something truthy (any exception counts as "not yet");
    fail the test, naming `what`, the last value and the last error, after `timeout`."""
    try:
        return wait_until(
            check,
            timeout=timeout,
            interval=interval,
            what=what or repr(check),
            retry_on=(Exception,),
        )
    except WaitTimeout as exc:
        raise AssertionError(str(exc)) from exc
