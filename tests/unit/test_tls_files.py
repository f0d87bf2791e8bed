"""The cluster's CA and server certificates (cluster.tls) and the pg_hba.conf TLS requires."""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from pathlib import Path

from cryptography import x509

from cluster import pgconf, tls
from cluster.pgctl import OsUser
from collector.targets import targets_from_state
from core.credentials import Credentials
from core.paths import StatePaths
from core.topology import plan_topology

ME = OsUser("me", os.getuid(), os.getgid(), "/")


def _paths(tmp_path: Path) -> StatePaths:
    return StatePaths(tmp_path / "state", tmp_path / "pg")


def test_first_run_makes_a_ca_and_a_verifiable_certificate_per_instance(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    topology = plan_topology("demo", "local-1", readers=2, first_port=5000)
    made = tls.ensure_certificates(paths, topology, ME)
    assert made[0].startswith("TLS: made a certificate authority")
    assert "demo-instance-1, demo-instance-2, demo-instance-3" in made[1]
    ca = x509.load_pem_x509_certificate(paths.tls_ca_cert.read_bytes())
    assert stat.S_IMODE(paths.tls_ca_key.stat().st_mode) == 0o600
    assert paths.tls_ca_key.parent == paths.root  # the CA key is never PostgreSQL's
    for spec in topology.instances:
        files = tls.server_files(paths, spec.id)
        assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.IPAddress) == [
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        ]
        assert names.get_values_for_type(x509.DNSName) == ["localhost", spec.id]
        assert cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + (
            datetime.timedelta(days=365)
        )
    assert paths.tls_client_options() == {
        "sslmode": "verify-full",
        "sslrootcert": str(paths.tls_ca_cert),
    }


def test_a_later_run_keeps_what_is_valid_and_replaces_what_is_not(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    topology = plan_topology("demo", "local-1", readers=1, first_port=5000)
    tls.ensure_certificates(paths, topology, ME)
    ca_before = paths.tls_ca_cert.read_bytes()
    one, two = (tls.server_files(paths, s.id) for s in topology.instances)
    kept = two.cert.read_bytes()
    one.cert.write_text("not a certificate")
    assert tls.ensure_certificates(paths, topology, ME) == [
        "TLS: issued server certificates for demo-instance-1"
    ]
    assert paths.tls_ca_cert.read_bytes() == ca_before
    assert two.cert.read_bytes() == kept
    assert tls.ensure_certificates(paths, topology, ME) == []
    # A lost CA key: a new CA, and every certificate is re-issued by it.
    paths.tls_ca_key.unlink()
    made = tls.ensure_certificates(paths, topology, ME)
    assert len(made) == 2 and "demo-instance-1, demo-instance-2" in made[1]
    assert two.cert.read_bytes() != kept


def test_a_stack_without_certificates_gets_no_tls_options(tmp_path: Path) -> None:
    assert _paths(tmp_path).tls_client_options() == {}


def test_instances_run_with_ssl_once_certificates_exist(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    topology = plan_topology("demo", "local-1", readers=1, first_port=5000)
    writer = topology.writer
    assert "ssl" not in pgconf.node_options(writer, paths)
    tls.ensure_certificates(paths, topology, ME)
    options = pgconf.node_options(writer, paths)
    assert options["ssl"] == "on"
    assert options["ssl_cert_file"] == str(tls.server_files(paths, writer.id).cert)
    assert options["ssl_ca_file"] == str(paths.tls_ca_cert)
    assert "sslmode=verify-full" in pgconf.replication_dsn(writer, paths, "x")


def _rules(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


def test_pg_hba_requires_tls_for_every_tcp_client_when_asked() -> None:
    assert [r[0] for r in _rules(pgconf.hba_conf())] == ["local", "host", "host"]
    required = _rules(pgconf.hba_conf(require_tls=True))
    assert [r[0] for r in required] == ["local", "hostssl", "hostssl", "hostnossl", "hostnossl"]
    assert required[-2][-1] == required[-1][-1] == "reject"


def test_the_collector_verifies_the_cluster_instances_once_the_ca_exists(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    topology = plan_topology("demo", "local-1", readers=1, first_port=5000)
    paths.root.mkdir(parents=True)
    topology.save(paths.topology)
    Credentials.generate().save(paths.secrets)
    assert all("sslmode" not in t.dsn for t in targets_from_state(paths))  # before its `up`
    tls.ensure_certificates(paths, topology, ME)
    for target in targets_from_state(paths):
        assert "sslmode=verify-full" in target.safe_dsn
        assert f"sslrootcert={paths.tls_ca_cert}" in target.safe_dsn
