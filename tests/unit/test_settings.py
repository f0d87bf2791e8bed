from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings, settings_from_json_file, settings_to_json


def test_defaults_listen_on_loopback_with_derived_ports(tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={"state_dir": str(tmp_path)})
    assert settings.listen_host == "127.0.0.1"
    assert settings.ports.port("prometheus") == 25490
    assert settings.ports.port("cloudwatch") == 25494
    assert settings.ports.port("cluster_endpoint") == 25432
    assert settings.state_dir == tmp_path.absolute()


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "borealis.yaml"
    config.write_text("readers: 3\nports:\n  base: 30000\n  ui: 31000\n")
    env = {"BOREALIS_READERS": "4", "BOREALIS_PORTS__PROMETHEUS": "32000"}
    settings = load_settings(config_file=config, environ=env, overrides={"readers": 5})
    assert settings.readers == 5
    assert settings.ports.port("ui") == 31000
    assert settings.ports.port("prometheus") == 32000
    assert settings.ports.port("collector") == 30091


def test_state_dir_file_is_read_by_default(tmp_path: Path) -> None:
    (tmp_path / "borealis.yaml").write_text("cluster_id: prod-like\n")
    settings = load_settings(environ={"BOREALIS_STATE_DIR": str(tmp_path)})
    assert settings.cluster_id == "prod-like"


def test_unknown_key_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text("readers: 2\nportz:\n  base: 1\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:2: unknown setting 'portz'"):
        load_settings(config_file=config, environ={})


def test_wrong_type_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text("collector:\n  poll_interval_s: 1.0\n  max_digests: lots\n")
    with pytest.raises(
        ConfigError, match=r"b\.yaml:3: collector\.max_digests: expected an integer"
    ):
        load_settings(config_file=config, environ={})


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text("readers: 2\nports: [1, 2\nui: 3\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:3"):
        load_settings(config_file=config, environ={})


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"environment: .*readers: expected an integer"):
        load_settings(environ={"BOREALIS_READERS": "many"})


def test_checks_across_settings_name_where_the_setting_was_given(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text(
        "ui:\n  refresh_ms: 1000\ncollector:\n  sample_interval_s: 0.01\nreaders: 0\n"
    )
    with pytest.raises(ConfigError, match=r"b\.yaml:5: readers must be between 1 and 15"):
        load_settings(config_file=config, environ={})
    config.write_text("collector:\n  sample_interval_s: 0.01\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:2: collector\.sample_interval_s must be"):
        load_settings(config_file=config, environ={})
    # The last place that gave it: here the command line, over the file.
    config.write_text("readers: 3\n")
    with pytest.raises(ConfigError, match=r"^command line: readers must be"):
        load_settings(config_file=config, environ={}, overrides={"readers": 16})


@pytest.mark.parametrize("readers", [0, 16])
def test_reader_count_is_bounded(readers: int) -> None:
    with pytest.raises(ConfigError, match="between 1 and 15"):
        load_settings(environ={}, overrides={"readers": readers})


def test_refuses_non_loopback_listen_address() -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        load_settings(environ={}, overrides={"listen_host": "0.0.0.0"})  # noqa: S104


def test_sampling_faster_than_100ms_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"at least 0\.1"):
        load_settings(environ={}, overrides={"collector.sample_interval_s": 0.05})


def test_os_poll_interval_must_be_positive_and_reads_from_the_environment() -> None:
    with pytest.raises(ConfigError, match="os_poll_interval_s must be more than 0"):
        load_settings(environ={}, overrides={"collector.os_poll_interval_s": 0})
    settings = load_settings(environ={"BOREALIS_COLLECTOR__OS_POLL_INTERVAL_S": "5"})
    assert settings.collector.os_poll_interval_s == 5.0


def test_json_round_trip_gives_the_same_settings(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, overrides={"readers": 7, "ports.base": 40000, "instance.extra": None}
    )
    path = tmp_path / "settings.json"
    path.write_text(settings_to_json(settings))
    assert settings_from_json_file(path) == settings
    assert isinstance(settings_from_json_file(path), Settings)


def test_log_and_detector_settings_from_a_file(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text(
        "collector:\n  detectors: on\n  logs:\n"
        "    otlp_endpoint: http://127.0.0.1:4318/v1/logs\n"
        "    otlp_headers: {authorization: Bearer x}\n"
        "    include_sql_literals: true\n"
    )
    settings = load_settings(config_file=config, environ={})
    assert settings.collector.detectors is True
    assert settings.collector.logs.otlp_endpoint == "http://127.0.0.1:4318/v1/logs"
    assert settings.collector.logs.otlp_headers == {"authorization": "Bearer x"}
    assert settings.collector.logs.include_sql_literals
    defaults = load_settings(environ={})
    assert defaults.collector.logs.otlp_endpoint is None  # nothing is exported by default
    assert not defaults.collector.logs.include_sql_literals
    assert defaults.collector.detectors is None  # on for a targets file only


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("collector.detectors", "sometimes", "expected true or false"),
        ("collector.logs.otlp_endpoint", "127.0.0.1:4318", "must be an http:// or https:// URL"),
        ("collector.logs.event_burst", 0, "event_burst must be at least 1"),
        ("collector.logs.start_at", "middle", "start_at must be end or beginning"),
    ],
)
def test_bad_log_settings_are_refused(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, overrides={key: value})


def test_export_settings_from_a_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "b.yaml"
    config.write_text(
        "prometheus:\n  remote_write:\n"
        "    url: https://mimir.example/api/v1/push\n"
        "    basic_auth_username: tenant-1\n"
        "    basic_auth_password_file: /run/secrets/mimir\n"
        "    headers: {X-Scope-OrgID: tenant-1}\n"
        "    max_shards: 4\n"
        "collector:\n  metrics:\n    otlp_endpoint: http://127.0.0.1:4318/v1/metrics\n"
    )
    settings = load_settings(
        config_file=config, environ={"BOREALIS_COLLECTOR__METRICS__OTLP_INTERVAL_S": "5"}
    )
    remote = settings.prometheus.remote_write
    assert remote.url == "https://mimir.example/api/v1/push"
    assert remote.basic_auth_username == "tenant-1"
    assert remote.headers == {"X-Scope-OrgID": "tenant-1"}
    assert remote.max_shards == 4
    assert settings.collector.metrics.otlp_endpoint == "http://127.0.0.1:4318/v1/metrics"
    assert settings.collector.metrics.otlp_interval_s == 5.0
    path = tmp_path / "settings.json"  # what the supervisor hands the collector
    path.write_text(settings_to_json(settings))
    assert settings_from_json_file(path) == settings
    defaults = load_settings(environ={})
    assert defaults.prometheus.remote_write.url is None  # nothing leaves by default
    assert defaults.collector.metrics.otlp_endpoint is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prometheus.remote_write.url": "mimir:9009"}, "must be an http:// or https:// URL"),
        (
            {
                "prometheus.remote_write.url": "http://x/api/v1/write",
                "prometheus.remote_write.bearer_token_file": "/t",
                "prometheus.remote_write.basic_auth_username": "u",
                "prometheus.remote_write.basic_auth_password_file": "/p",
            },
            "not both",
        ),
        ({"prometheus.remote_write.basic_auth_username": "u"}, "go together"),
        ({"prometheus.remote_write.max_shards": 0}, "at least 1"),
        ({"collector.metrics.otlp_endpoint": "127.0.0.1:4318"}, "http:// or https://"),
        ({"collector.metrics.otlp_interval_s": 0.5}, "at least 1"),
    ],
)
def test_bad_export_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, overrides=overrides)


ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - what a container listens on


def test_a_non_loopback_listen_host_needs_the_container_switch() -> None:
    with pytest.raises(ConfigError, match="allow_non_loopback_listen"):
        load_settings(environ={"BOREALIS_LISTEN_HOST": ALL_INTERFACES})
    settings = load_settings(
        environ={
            "BOREALIS_LISTEN_HOST": ALL_INTERFACES,
            "BOREALIS_ALLOW_NON_LOOPBACK_LISTEN": "true",
        }
    )
    assert settings.listen_host == ALL_INTERFACES
