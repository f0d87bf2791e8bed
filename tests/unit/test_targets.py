from pathlib import Path

import pytest

from collector.targets import targets_from_file
from core.errors import ConfigError

GOOD = """
clusters:
  - id: prod
    instances:
      - id: prod-instance-1
        dsn: "host=db1.example user=monitor password=s3cret dbname=postgres sslmode=verify-full"
        resource_id: db-ABCDEFGHIJKLMNOPQRSTUVWXYZ
        az: us-east-1a
      - id: prod-instance-2
        dsn: "host=db2.example user=monitor dbname=postgres"
"""


def test_targets_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD)
    targets = targets_from_file(path)
    assert [t.db_instance for t in targets] == ["prod-instance-1", "prod-instance-2"]
    assert targets[0].cluster == "prod"
    assert targets[0].az == "us-east-1a"
    assert "s3cret" not in targets[0].safe_dsn
    assert "sslmode=verify-full" in targets[0].safe_dsn


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD.replace("        az: us-east-1a", "        zone: us-east-1a"))
    with pytest.raises(ConfigError, match=r"targets\.yaml:8: unknown key 'zone'"):
        targets_from_file(path)


def test_bad_dsn_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD.replace('dsn: "host=db2.example', 'dsn: "host=db2.example broken'))
    with pytest.raises(ConfigError, match=r"targets\.yaml:10: bad dsn"):
        targets_from_file(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD.replace("prod-instance-2", "prod-instance-1"))
    with pytest.raises(ConfigError, match="duplicate instance id"):
        targets_from_file(path)


def test_log_dirs_are_optional_and_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    first_az = "        az: us-east-1a\n"
    path.write_text(
        GOOD.replace(first_az, first_az + "        log_dir: logs/p1\n")
        + "        log_dir: /var/log/pg2\n"
    )
    first, second = targets_from_file(path)
    assert first.log_dir == str(tmp_path / "logs" / "p1")
    assert second.log_dir == "/var/log/pg2"
    (plain,) = targets_from_file(_one_instance(tmp_path))
    assert plain.log_dir is None  # RDS/Aurora: no log files to tail, not an error


def _one_instance(tmp_path: Path) -> Path:
    path = tmp_path / "one.yaml"
    path.write_text(
        "clusters:\n  - id: aurora\n    instances:\n      - id: aurora-1\n"
        '        dsn: "host=x.cluster-abc.us-east-1.rds.amazonaws.com user=monitor '
        'sslmode=verify-full sslrootcert=/etc/ssl/rds-global-bundle.pem"\n'
    )
    return path
