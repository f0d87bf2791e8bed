"""`wait_for`: `core.waiting.wait_until` as tests want it: any exception is "not yet", and
a timeout fails the test (AssertionError) naming what it waited for."""

from __future__ import annotations

import urllib.error
import urllib.request
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


def answers_200(url: str, timeout: float = 2) -> bool:
    """True once `url` answers 200 (Prometheus' and Alertmanager's /-/ready answer 503 while
    they start). Every answer's socket is closed: an HTTPError holds its response open, and
    one dropped unclosed is a ResourceWarning wherever the garbage collector finds it (a CI
    run failed so, in another test's setup)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - ours
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        exc.close()
        return False
    except OSError:
        return False
