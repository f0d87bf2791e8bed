"""The short chaos soak (`make soak MINUTES=1.5`): random faults from the catalogue on a stack
of its own while the zero-loss checker writes; no acknowledged write lost or duplicated,
every fault's events and alerts, memory sampled, nothing left after `borealis down`.

The seed is fixed (SOAK_SEED overrides it) so that CI replays one known mix of faults; the
long soak (docs/reliability.md) draws a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PORT_BASE
from testsupport.children import child_env

pytestmark = pytest.mark.cluster

SOAK_PORTS = PORT_BASE + 4500  # beside the drill stack's block (+3000), past every other


def test_a_short_soak_loses_nothing_and_reports_every_fault(shared_tmp: Path) -> None:
    results = shared_tmp / "soak.json"
    seed = os.environ.get("SOAK_SEED", "2026")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--minutes",
            "1.5",
            "--seed",
            seed,
            "--hold",
            "3,10",
            "--port-base",
            str(SOAK_PORTS),
            "--state-dir",
            str(shared_tmp / "soak"),
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=child_env(),
        check=False,
    )
    assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    r = json.loads(results.read_text())
    report = f"seed {seed}\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    writes = r["writes"]
    assert (writes["lost"], writes["duplicated"], writes["rejected_present"]) == (0, 0, 0), report
    assert writes["acknowledged"] > 300, report
    episodes = r["episodes"]
    assert len(episodes) >= 4, report
    assert [e for e in episodes if e["error"]] == [], report
    assert len({e["kind"] for e in episodes}) >= 4, report
    assert sum(len(e["events"]) for e in episodes) >= len(episodes) - 2, report
    assert r["events_missing"] == [], report
    assert sum(len(e["alerts"]) for e in episodes) >= 1, report
    assert r["alerts_missing"] == [], report
    for service in ("supervisor", "collector"):
        memory = r["memory"][service]
        assert memory["samples"] >= 10, report
        assert isinstance(memory["slope_mib_per_min"], float), report
    assert (r["leaked_processes"], r["leaked_ports"], r["down_error"]) == ([], [], ""), report
    assert r["ok"] and done.returncode == 0, report
    assert f"seed {seed}" in done.stdout
    assert not (shared_tmp / "soak").exists()  # a passing run cleans up after itself
