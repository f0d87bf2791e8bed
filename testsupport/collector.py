"""A real `borealis collector` process for tests: started, waited for, scraped, stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from testsupport.children import child_env
from testsupport.waiting import wait_for

# --- the real collector process -----------------------------------------------------------


@dataclass
class CollectorProcess:
    targets_file: Path
    state_dir: Path
    port: int
    env: dict[str, str]
    log_file: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.popen = subprocess.Popen(
                [
                    sys.executable, "-m", "borealis", "collector",
                    "--targets", str(self.targets_file), "--state-dir", str(self.state_dir),
                ],
                # Its PI API next to it too (the default port may be a running stack's),
                # unless the caller placed it.
                env=child_env({
                    "BOREALIS_PORTS__PI": str(self.port + 5),
                    **self.env,
                    "BOREALIS_PORTS__COLLECTOR": str(self.port),
                }),
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self.healthy, 30, what="the collector answering /healthz")

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(timeout=30)
            self.popen = None

    def healthy(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"the collector exited: {self.log_file.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    def value(self, name: str, **labels: str) -> float | None:
        """The sum of a metric's samples that carry `labels`; None when there is none."""
        found = None
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    found = (found or 0.0) + sample.value
        return found

    def events(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            [
                sys.executable, "-m", "borealis", "events", "--json", "--minutes", "60",
                "--state-dir", str(self.state_dir),
            ],
            capture_output=True, text=True, timeout=60, check=False, env=child_env(self.env),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["Events"])
