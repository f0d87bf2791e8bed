"""The cluster's TLS: a private CA and one server certificate per instance.

Made at the first `up` (and at the next `up` of a stack created before TLS existed): the CA
certificate and each instance's certificate and key live under the data root, owned by the
PostgreSQL OS user, keys mode 0600 (PostgreSQL refuses a key others can read). The CA's own
key stays in the state directory, root's only: PostgreSQL never needs it. Every certificate
names 127.0.0.1, ::1, localhost and the instance, so clients can use ``sslmode=verify-full``.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cluster.pgctl import OsUser
from core.paths import StatePaths
from core.topology import Topology

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class ServerFiles:
    cert: Path
    key: Path


def server_files(paths: StatePaths, instance_id: str) -> ServerFiles:
    return ServerFiles(paths.tls_dir / f"{instance_id}.crt", paths.tls_dir / f"{instance_id}.key")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write(path: Path, data: bytes, mode: int, owner: OsUser | None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        if owner is not None:
            os.fchown(handle.fileno(), owner.uid, owner.gid)
        handle.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _valid(cert_path: Path) -> x509.Certificate | None:
    """The certificate in `cert_path` if it exists, parses and is not about to expire."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return None
    return cert


class CertificateAuthority:
    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert = cert
        self.key = key

    @classmethod
    def create(cls, cluster_id: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Borealis {cluster_id} CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, paths: StatePaths) -> CertificateAuthority | None:
        cert = _valid(paths.tls_ca_cert)
        try:
            key = serialization.load_pem_private_key(paths.tls_ca_key.read_bytes(), None)
        except (OSError, ValueError):
            return None
        if cert is None or not isinstance(key, ec.EllipticCurvePrivateKey):
            return None
        if cert.public_key() != key.public_key():
            return None
        return cls(cert, key)

    def issue_server(self, instance_id: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        names = [
            x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            x509.IPAddress(ipaddress.IPv6Address("::1")),  # an endpoint may listen there
            x509.DNSName("localhost"),
            x509.DNSName(instance_id),
        ]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, instance_id)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def _issued_by(cert: x509.Certificate, ca: CertificateAuthority) -> bool:
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def ensure_certificates(paths: StatePaths, topology: Topology, user: OsUser) -> list[str]:
    """Make whatever is missing, invalid or about to expire: the CA, then each instance's
    certificate. Returns one line per thing made (empty when all was in place)."""
    made: list[str] = []
    tls_dir = paths.tls_dir
    tls_dir.mkdir(parents=True, exist_ok=True)
    os.chown(tls_dir, user.uid, user.gid)
    os.chmod(tls_dir, 0o750)
    ca = CertificateAuthority.load(paths)
    if ca is None:
        ca = CertificateAuthority.create(topology.cluster_id)
        paths.tls_ca_key.parent.mkdir(parents=True, exist_ok=True)
        _write(paths.tls_ca_key, _key_pem(ca.key), 0o600, None)
        _write(paths.tls_ca_cert, ca.cert.public_bytes(serialization.Encoding.PEM), 0o644, user)
        made.append(f"TLS: made a certificate authority ({paths.tls_ca_cert})")
    issued = []
    for spec in topology.instances:
        files = server_files(paths, spec.id)
        current = _valid(files.cert)
        if current is not None and files.key.is_file() and _issued_by(current, ca):
            continue
        cert, key = ca.issue_server(spec.id)
        _write(files.key, _key_pem(key), 0o600, user)
        _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644, user)
        issued.append(spec.id)
    if issued:
        made.append(f"TLS: issued server certificates for {', '.join(issued)}")
    return made
