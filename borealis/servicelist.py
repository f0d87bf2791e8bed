"""The services the supervisor starts, in start order, for either kind of stack.

Both stacks (the mini-cluster and `up --targets FILE`) start the same monitoring services;
only the mini-cluster adds its light workload. A new service goes into `stack_services`.
"""

from __future__ import annotations

import sys

from borealis import alertmanager, grafana, prometheus
from borealis.services import Service, ServiceSpec
from core.errors import BorealisError
from core.paths import StatePaths
from core.settings import Settings
from core.webauth import internal_header


def python_service(
    settings: Settings, paths: StatePaths, name: str, port_name: str, health: str
) -> ServiceSpec:
    """`borealis NAME` as a child, with the supervisor's settings (run/settings.json)."""
    settings_file = paths.run / "settings.json"
    host = settings.listen_host
    return ServiceSpec(
        name=name,
        argv=[sys.executable, "-m", "borealis", name, "--settings-json", str(settings_file)],
        url=f"http://{host}:{settings.ports.port(port_name)}",
        health_path=health,
        log_file=paths.service_log(name),
        pid_file=paths.pid_file(name),
        headers=internal_header(settings),
    )


def workload_service(settings: Settings, paths: StatePaths) -> ServiceSpec:
    """The light default workload: a child process, through the cluster endpoint."""
    load = settings.light_workload
    return ServiceSpec(
        name="workload",
        argv=[
            sys.executable,
            "-m",
            "borealis",
            "workload",
            "--settings-json",
            str(paths.run / "settings.json"),
            "--scenario",
            load.scenario,
            "--rate",
            str(load.rate_tps),
            "--clients",
            str(load.clients),
            "--quiet",
        ],
        url="",
        health_path="",
        log_file=paths.service_log("workload"),
        pid_file=paths.pid_file("workload"),
    )


def stack_services(settings: Settings, paths: StatePaths, *, cluster: bool) -> list[ServiceSpec]:
    """Every service of a stack; `cluster` is False for a stack watching a targets file.
    Writes the stack's Prometheus config and Grafana provisioning on the way."""
    grafana.prepare(settings, paths)
    specs = [
        python_service(settings, paths, "collector", "collector", "/healthz"),
        prometheus.service(settings, paths),
        python_service(settings, paths, "ui", "ui", "/healthz"),
        python_service(settings, paths, "cloudwatch", "cloudwatch", "/healthz"),
        python_service(settings, paths, "webhook", "webhook", "/healthz"),
        alertmanager.service(settings, paths),
    ]
    if cluster and settings.workload:
        specs.append(workload_service(settings, paths))
    return specs


def start_all(specs: list[ServiceSpec], started: dict[str, Service], timeout: float = 60) -> None:
    """Start every service (each lands in `started` at once, for the caller to stop), then
    wait until all are healthy; one that is not fails the start, naming its log."""
    for spec in specs:
        service = Service(spec)
        service.start()
        started[spec.name] = service
    for service in started.values():
        if not service.wait_healthy(timeout):
            raise BorealisError(
                f"{service.spec.name} did not become healthy; see {service.spec.log_file}"
            )


def service_urls(settings: Settings, services: dict[str, Service]) -> dict[str, str]:
    """What `status` lists under `services`: each service's URL, and the PI API's."""
    urls = {name: service.spec.url for name, service in services.items() if service.spec.url}
    if "collector" in urls:
        # The Performance Insights API lives in the collector process, on its own port.
        urls["pi"] = f"http://{settings.listen_host}:{settings.ports.port('pi')}"
    return urls


def grafana_status(paths: StatePaths) -> dict[str, str]:
    """What `status` lists under `grafana`: the provisioning directory `up` wrote."""
    return {"provisioning": str(grafana.provisioning_dir(paths))}
