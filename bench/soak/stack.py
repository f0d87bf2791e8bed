"""The soak's own stack: `borealis up` in a state directory of its own, on its own ports,
driven through the supervisor's control socket (what `borealis fault` sends)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from bench.failover import Stack
from borealis import control
from core.credentials import APP_DATABASE, APP_USER, Credentials
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings_sections import Ports
from core.waiting import wait_until


class SoakStack(Stack):
    """bench.failover's stack (its `env`, `cli`), with the soak's health: services too."""

    def __init__(self, state: Path, port_base: int) -> None:
        super().__init__(state, port_base)
        self.paths = StatePaths(state)
        self.ports = Ports(base=port_base)

    @property
    def pg_root(self) -> Path:
        return self.state / "pg"

    def up(self, readers: int) -> None:
        if self.state.exists():
            shutil.rmtree(self.state)
        self.state.mkdir(parents=True)
        os.chmod(self.state, 0o755)  # the postgres user reaches its data root through it
        self.cli("up", "--detach", "--readers", str(readers), "--no-workload", timeout=900)

    def down(self) -> None:
        self.cli("down", timeout=300)

    def request(self, op: str, **params: Any) -> Any:
        return control.request(self.paths.control_socket, op, timeout=150, **params)

    def fault(self, name: str, *args: str) -> dict[str, Any]:
        return dict(self.request("fault", fault=name, args=list(args)))

    def status(self) -> dict[str, Any]:
        return dict(self.request("status"))

    def healthy(self) -> bool:
        status = self.status()
        return (
            all(i["state"] == "available" for i in status["instances"])
            and all(s["state"] == "available" for s in status["segments"])
            and all(status["service_health"].values())
        )

    def wait_healthy(self, timeout: float) -> None:
        wait_until(
            self.healthy,
            timeout=timeout,
            interval=0.5,
            what="the stack to be healthy",
            retry_on=(BorealisError,),
        )

    def wait_new_writer(self, old: str, timeout: float) -> str:
        def new_writer() -> str:
            writer = str(self.status()["writer"])
            return writer if writer != old else ""

        return str(
            wait_until(
                new_writer,
                timeout=timeout,
                interval=0.3,
                what="a new writer",
                retry_on=(BorealisError,),
            )
        )

    def wait_service_healthy(self, service: str, timeout: float) -> None:
        wait_until(
            lambda: self.status()["service_health"].get(service),
            timeout=timeout,
            interval=0.3,
            what=f"the {service} service healthy again",
            retry_on=(BorealisError,),
        )

    def wait_alarms_armed(self, timeout: float) -> None:
        """Until Prometheus evaluates the failover alarm as OK for this cluster: a fault
        injected before the alarm has its first datapoints (a stack just up) cannot fire it."""
        query = urllib.parse.urlencode(
            {"query": 'alarm:state{alarm_name="BorealisWriterFailover"} == 0'}
        )
        url = f"http://127.0.0.1:{self.ports.port('prometheus')}/api/v1/query?{query}"

        def armed() -> bool:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bool(json.load(response)["data"]["result"])

        wait_until(
            armed,
            timeout=timeout,
            interval=1.0,
            what="the failover alarm evaluated OK",
            retry_on=(OSError, ValueError, KeyError),
        )

    def dsn(self, port_name: str = "cluster_endpoint") -> str:
        return make_conninfo(
            host="127.0.0.1",
            port=self.ports.port(port_name),
            user=APP_USER,
            password=Credentials.load(self.paths.secrets).app,
            dbname=APP_DATABASE,
            connect_timeout=5,
        )

    def all_ports(self, instances: int) -> list[int]:
        named = [self.ports.port(name) for name in Ports._OFFSETS]
        first = self.ports.port("first_instance")
        return sorted({*named, *range(first, first + instances)})


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def leftover_processes(*markers: Path) -> list[str]:
    """Live processes whose command line or working directory names one of the paths."""
    found = []
    needles = [str(m) for m in markers]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text()
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except (OSError, UnicodeDecodeError):
            continue
        if stat[stat.rindex(")") + 2] in "ZX":
            continue
        if any(n in cmdline or cwd.startswith(n) for n in needles):
            found.append(f"{entry} {cmdline.strip()[:120]}")
    return found
