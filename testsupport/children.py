"""The environment of a `borealis` child process started by a test or a benchmark."""

from __future__ import annotations

import os


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a `borealis` child: BOREALIS_TEST_* are the tests' own variables,
    not settings (the settings loader refuses unknown BOREALIS_* names)."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BOREALIS_TEST_")}
    return {**inherited, **(extra or {})}
