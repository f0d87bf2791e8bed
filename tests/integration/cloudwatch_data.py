"""A real Prometheus holding known CloudWatch samples, for the CloudWatch API tests.

The samples (`instance:aws_rds_<metric>:10s`, `cluster:...`, as alerts/cloudwatch.py
records them) are backfilled with `promtool tsdb create-blocks-from openmetrics` at exact
timestamps, so every statistic the API returns can be checked against the same values
computed here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import wait_for
from testsupport.waiting import answers_200

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
STEP = 5  # seconds between samples, as the recording rules evaluate
MINUTES = 10
CPU = "instance:aws_rds_cpuutilization:10s"
CONNECTIONS = "instance:aws_rds_database_connections:10s"
VOLUME = "cluster:aws_rds_volume_bytes_used:10s"
EXTRA_INSTANCES = 520  # enough metrics for ListMetrics to need a second page (500 each)


def cpu_value(instance: str, i: int) -> float:
    """The i-th CPUUtilization sample of `instance` (0 <= i < 12 * MINUTES)."""
    if instance == "db1":
        return float((i * 7) % 13) + 0.25 * (i // 12)
    return 40.0 + (i * 5) % 11


def db2_has_sample(i: int) -> bool:
    """db2 has no samples in its fifth minute: that period has no datapoint."""
    return i // 12 != 4


@dataclass(frozen=True)
class KnownData:
    start: int  # the first sample's time: a whole hour, about 3 h ago
    url: str  # Prometheus

    def samples(self, instance: str) -> list[tuple[int, float]]:
        return [
            (self.start + STEP * i, cpu_value(instance, i))
            for i in range(12 * MINUTES)
            if instance == "db1" or db2_has_sample(i)
        ]


def _openmetrics(start: int) -> str:
    lines = [f"# TYPE {CPU} gauge", f"# TYPE {CONNECTIONS} gauge", f"# TYPE {VOLUME} gauge"]
    roles = {"db1": "WRITER", "db2": "READER"}
    for i in range(12 * MINUTES):
        at = start + STEP * i
        for instance, role in roles.items():
            if instance == "db2" and not db2_has_sample(i):
                continue
            labels = (
                f'dimension_DBClusterIdentifier="c1",dimension_DBInstanceIdentifier="{instance}",'
                f'dimension_Role="{role}"'
            )
            lines.append(f"{CPU}{{{labels}}} {cpu_value(instance, i)} {at}")
        lines.append(f'{VOLUME}{{dimension_DBClusterIdentifier="c1"}} {1000 + i} {at}')
    for n in range(EXTRA_INSTANCES):
        labels = (
            f'dimension_DBClusterIdentifier="big",dimension_DBInstanceIdentifier="x{n:03d}",'
            f'dimension_Role="{"READER" if n % 2 else "WRITER"}"'
        )
        lines.append(f"{CONNECTIONS}{{{labels}}} {n} {start}")
    return "\n".join(lines) + "\n# EOF\n"


def start_prometheus(root: Path, port: int, start: int) -> Iterator[KnownData]:
    """Backfill the known samples into a fresh TSDB under `root`, serve it, yield, stop."""
    data = root / "tsdb"
    data.mkdir(parents=True)
    source = root / "samples.om"
    source.write_text(_openmetrics(start))
    made = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, f"promtool backfill failed: {made.stdout} {made.stderr}"
    for url in run_prometheus(root, port, "global: {}\n"):
        yield KnownData(start, url)


def run_prometheus(root: Path, port: int, config_text: str) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1:`port` with its TSDB in `root`/tsdb: yields its URL
    once ready, stops it after."""
    data = root / "tsdb"
    data.mkdir(parents=True, exist_ok=True)
    config = root / "prometheus.yml"
    config.write_text(config_text)
    log = (root / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                log.flush()
                tail = (root / "prometheus.log").read_text()[-2000:]
                raise AssertionError(f"prometheus exited {process.returncode}: {tail}")
            return answers_200(f"{url}/-/ready")

        wait_for(ready, 60, what="prometheus ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
