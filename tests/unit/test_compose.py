"""compose.yaml and the Dockerfile, validated offline (no Docker engine runs here): the
compose-spec parser accepts the file, every file it mounts exists, every image is pinned,
every port is published on 127.0.0.1 only, every service has a health check; the
Dockerfile installs the Debian packages scripts/install-system.sh installs; promtool and
amtool accept the configurations compose mounts; the ports line up with the settings."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from core.settings import load_settings
from tests.binaries import require_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
INSTALL_SCRIPT = ROOT / "scripts" / "install-system.sh"
# What the image needs beyond install-system.sh's packages (the host has these already).
IMAGE_ONLY_PACKAGES = {"python3", "python3-venv", "ca-certificates"}


def compose_problems(text: str, root: Path) -> list[str]:
    """Everything wrong with a compose file; empty when it is fit to ship."""
    compose = PyCompose.from_yaml(text)
    compose.validate()
    compose.validate_volumes()
    document: dict[str, Any] = compose.to_dict()
    problems = []
    declared_volumes = set(document.get("volumes") or {})
    for name, service in (document.get("services") or {}).items():
        image = str(service.get("image", ""))
        tag = image.rpartition(":")[2] if ":" in image else ""
        if not re.fullmatch(r"v?\d+(\.\d+)+(-[\w.]+)?", tag):
            problems.append(f"{name}: image {image!r} is not pinned to a version")
        for port in service.get("ports", []):
            published = port if isinstance(port, str) else f"{port.get('host_ip')}:"
            if not str(published).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port!r} is not bound to 127.0.0.1")
        test = (service.get("healthcheck") or {}).get("test")
        if not test or test == ["NONE"] or (service.get("healthcheck") or {}).get("disable"):
            problems.append(f"{name}: no health check")
        for mount in service.get("volumes", []):
            source = str(mount if isinstance(mount, str) else mount.get("source")).split(":")[0]
            if source.startswith((".", "/")):
                if not (root / source).exists():
                    problems.append(f"{name}: mounts {source}, which does not exist")
            elif source not in declared_volumes:
                problems.append(f"{name}: named volume {source} is not declared")
        build = service.get("build")
        if build is not None:
            context = root / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            if not (context / str(dockerfile or "Dockerfile")).is_file():
                problems.append(f"{name}: no Dockerfile at {context}")
    return problems


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(entry.split(None, 1)[0].upper(), entry.split(None, 1)[1]) for entry in logical]


def apt_packages(command: str) -> tuple[set[str], set[str]]:
    """Packages and options of every `apt-get install` in a shell command line."""
    packages, options = set(), set()
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part)
        if words[:2] == ["apt-get", "install"]:
            for word in words[2:]:
                (options if word.startswith("-") else packages).add(word)
    return packages, options


def script_packages(text: str) -> tuple[set[str], set[str]]:
    """install-system.sh's runtime packages and its --test extras, from its bash arrays."""
    runtime = re.search(r"^packages=\(([^)]*)\)", text, re.M)
    extra = re.search(r"^\s*packages\+=\(([^)]*)\)", text, re.M)
    assert runtime and extra, "install-system.sh no longer declares packages=(...)"
    return set(runtime.group(1).split()), set(extra.group(1).split())


def test_the_compose_file_is_valid_and_fit_to_ship() -> None:
    assert compose_problems(COMPOSE.read_text(), ROOT) == []


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        ("    image: prom/prometheus:latest\n", "not pinned"),
        ("    image: prom/prometheus\n", "not pinned"),
        ('    image: x:1.0\n    ports: ["9090:9090"]\n', "not bound to 127.0.0.1"),
        ('    image: x:1.0\n    ports: ["0.0.0.0:9090:9090"]\n', "not bound to 127.0.0.1"),
        ("    image: x:1.0\n    volumes: [./nowhere.yml:/etc/x.yml:ro]\n", "does not exist"),
        ("    image: x:1.0\n    volumes: [undeclared:/data]\n", "not declared"),
        ("    image: x:1.0\n    build: {context: ., dockerfile: Nope}\n", "no Dockerfile"),
    ],
)
def test_the_checks_catch_what_they_look_for(service: str, problem: str) -> None:
    healthy = "    healthcheck: {test: [CMD, 'true']}\n"
    text = f"services:\n  s:\n{service}{healthy}"
    assert any(problem in p for p in compose_problems(text, ROOT)), problem
    without_check = "services:\n  s:\n    image: x:1.0\n"
    assert compose_problems(without_check, ROOT) == ["s: no health check"]


def test_the_schema_parser_refuses_a_broken_file() -> None:
    with pytest.raises(ValueError, match="imagee"):
        compose_problems("services:\n  s:\n    imagee: x:1.0\n", ROOT)


def test_the_dockerfile_installs_what_install_system_installs() -> None:
    runtime, test_only = script_packages(INSTALL_SCRIPT.read_text())
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    installed: set[str] = set()
    options: set[str] = set()
    for instruction, arguments in instructions:
        if instruction == "RUN":
            found, flags = apt_packages(arguments)
            installed |= found
            options |= flags
    assert installed - IMAGE_ONLY_PACKAGES == runtime
    assert not installed & test_only  # the image carries no test tools
    assert "--no-install-recommends" in options  # as the script does
    runs = " ".join(arguments for instruction, arguments in instructions if instruction == "RUN")
    script_user_step = next(
        line for line in INSTALL_SCRIPT.read_text().splitlines() if "useradd" in line
    )
    assert script_user_step.strip() in runs  # the same postgres user step
    base = next(arguments for instruction, arguments in instructions if instruction == "FROM")
    assert re.fullmatch(r"debian:\d+\.\d+(-slim)?", base), base


def test_the_script_parser_reads_the_real_arrays() -> None:
    runtime, test_only = script_packages(INSTALL_SCRIPT.read_text())
    assert {"postgresql-15", "prometheus", "prometheus-alertmanager"} <= runtime
    assert "chromium" in test_only


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_the_container_settings_are_accepted_and_match_the_published_ports() -> None:
    borealis = _compose()["services"]["borealis"]
    settings = load_settings(environ=borealis["environment"])
    assert settings.listen_host == "0.0.0.0"  # noqa: S104 - inside the container only
    published = {int(p.rsplit(":", 1)[1]) for p in borealis["ports"]}
    wanted = {"cluster_endpoint", "reader_endpoint", "ui", "collector", "pi"}
    assert published == {settings.ports.port(name) for name in wanted}
    dockerfile_env = DOCKERFILE.read_text()
    for key, value in borealis["environment"].items():
        assert f"{key}={value}" in dockerfile_env  # `docker run` alone behaves the same
    health = " ".join(borealis["healthcheck"]["test"])
    assert str(settings.ports.port("collector")) in health
    assert str(settings.ports.port("ui")) in health


def test_prometheus_scrapes_the_borealis_collector_and_loads_the_rules() -> None:
    compose = _compose()
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    port = load_settings(environ=compose["services"]["borealis"]["environment"]).ports.port(
        "collector"
    )
    targets = [
        target
        for job in config["scrape_configs"]
        if job["job_name"] == "borealis"
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert targets == [f"borealis:{port}"]
    mounts = compose["services"]["prometheus"]["volumes"]
    rules_mount = next(m for m in mounts if m.startswith("./alerts/generated:"))
    rules_dir = rules_mount.split(":")[1]
    assert config["rule_files"] == [f"{rules_dir}/*.yml"]
    assert list((ROOT / "alerts/generated").glob("*.yml"))


def test_promtool_accepts_the_compose_prometheus_config(tmp_path: Path) -> None:
    # Rewrite the in-container rule path to the checkout so promtool checks the rules too.
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["rule_files"] = [str(ROOT / "alerts/generated/*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [require_binary("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_amtool_accepts_the_compose_alertmanager_config() -> None:
    path = ROOT / "deploy/alertmanager/alertmanager.yml"
    done = subprocess.run(
        [require_binary("amtool"), "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def grafana_expand(text: str, environment: dict[str, str]) -> str:
    """Grafana's env lookup in provisioning values: $VAR or ${VAR}, $$ for a literal $.
    An unset variable fails here (Grafana would quietly make it empty)."""

    def lookup(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        assert name in environment, f"${name} is not set on the Grafana container"
        return environment[name]

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", lookup, text)


def test_grafana_expand_reads_both_forms_and_refuses_an_unset_variable() -> None:
    env = {"A": "x", "B": "y"}
    assert grafana_expand("$A-${B}-$$A", env) == "x-y-$A"
    with pytest.raises(AssertionError, match="MISSING"):
        grafana_expand("${MISSING}", env)


def test_the_mounted_grafana_provisioning_points_at_the_compose_services() -> None:
    """The provisioning compose mounts, with the container's environment expanded as
    Grafana does, names the prometheus and alertmanager services at their container ports
    and the directory where compose mounts the dashboards."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    grafana = services["grafana"]
    mounts = {
        target: ROOT / source
        for source, target, *_ in (str(m).split(":") for m in grafana["volumes"])
        if source.startswith(".")
    }
    provisioning = mounts["/etc/grafana/provisioning"]
    environment = {str(k): str(v) for k, v in grafana["environment"].items()}
    sources = yaml.safe_load(
        grafana_expand((provisioning / "datasources/borealis.yml").read_text(), environment)
    )
    urls = {s["type"]: s["url"] for s in sources["datasources"]}
    assert urls == {
        "prometheus": "http://prometheus:9090",
        "alertmanager": "http://alertmanager:9093",
    }
    for kind, url in urls.items():
        host, port = url.removeprefix("http://").split(":")
        assert host in services, f"{kind}: {host} is no compose service"
        container_ports = {str(p).rsplit(":", 1)[-1] for p in services[host]["ports"]}
        assert port in container_ports, f"{kind}: {host} does not listen on {port}"
    providers = yaml.safe_load(
        grafana_expand((provisioning / "dashboards/borealis.yml").read_text(), environment)
    )
    [provider] = providers["providers"]
    dashboards_dir = provider["options"]["path"]
    assert dashboards_dir in mounts, f"nothing is mounted at {dashboards_dir}"
    assert any(mounts[dashboards_dir].glob("*.json"))
