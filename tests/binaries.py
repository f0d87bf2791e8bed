"""The real binaries the suite runs (Prometheus, promtool, Alertmanager, amtool): a missing one
fails the test that needs it with a message saying how to install it, never a skip."""

from __future__ import annotations

import shutil

import pytest

INSTALL_HINT = "install it with `make install-test` (Debian: prometheus, prometheus-alertmanager)"


def require_binary(name: str) -> str:
    """The path of `name` on PATH or in /usr/bin, or fail the test saying it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed, and this test runs it: {INSTALL_HINT}", False)
    return found
