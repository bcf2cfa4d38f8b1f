"""The cell's own certificate authority, for what peers reach without Caddy (mail, say).

One root per cell, made once where the cell starts (`pic-store up`, the deployment's
`prepare`), kept in `<data dir>/ca/`: `root.crt` (public: peers trust it) and `root.key`
(0600 from its first byte; only the installer reads it). A service whose manifest names
`hostnames` gets a certificate for those names, signed by this root, through the template
variables `${PIC_TLS_CERT}` and `${PIC_TLS_KEY}`; `${PIC_CA_CERT}` is the root itself.

A leaf lives 397 days (what clients accept of a private root too) and is issued again, at the
service's next render, when it names other hosts, comes from another root, or has less than
30 days left. The root's key never leaves the data dir.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.errors import ConfigError

CA_RELATIVE = Path("ca")
ROOT_CERT, ROOT_KEY = "root.crt", "root.key"
ROOT_DAYS = 3650
LEAF_DAYS = 397
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CellCa:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Leaf:
    """A service's certificate (PEM) and its key (PEM, PKCS#8, unencrypted)."""

    certificate_pem: str
    key_pem: str


def ca_dir(data_dir: Path) -> Path:
    return data_dir / CA_RELATIVE


def ensure_ca(data_dir: Path, cell_name: str) -> Path:
    """Make the cell's root once (a half-made pair is made again, whole); its folder."""
    folder = ca_dir(data_dir)
    cert_path, key_path = folder / ROOT_CERT, folder / ROOT_KEY
    if cert_path.is_file() and key_path.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pic-store"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"pic-store {cell_name} root"),
        ]
    )
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    tmp = cert_path.with_suffix(".tmp")
    tmp.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    tmp.chmod(0o644)
    tmp.replace(cert_path)
    return folder


def cell_root_files(data_dir: Path) -> tuple[Path, Path] | None:
    """The root's certificate and key files, when the cell has made them."""
    folder = ca_dir(data_dir)
    cert_path, key_path = folder / ROOT_CERT, folder / ROOT_KEY
    return (cert_path, key_path) if cert_path.is_file() else None


def load_ca(data_dir: Path) -> CellCa | None:
    """The cell's root, or None when the cell has none yet; ConfigError when it is unusable."""
    folder = ca_dir(data_dir)
    cert_path, key_path = folder / ROOT_CERT, folder / ROOT_KEY
    if not cert_path.exists() and not key_path.exists():
        return None
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"the cell's CA in {folder} cannot be read: {type(exc).__name__}"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        raise ConfigError(f"the cell's CA in {folder}: {ROOT_KEY} is not {ROOT_CERT}'s key")
    return CellCa(certificate, key)


def root_certificate(data_dir: Path | None) -> str:
    """The cell's root (PEM) for peers to trust; empty when the cell has none yet."""
    if data_dir is None:
        return ""
    try:
        return (ca_dir(data_dir) / ROOT_CERT).read_text()
    except OSError:
        return ""


def issue(ca: CellCa, names: Sequence[str]) -> Leaf:
    """A server certificate for `names` (DNS names), signed by the cell's root."""
    if not names:
        raise ValueError("a certificate needs at least one name")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Leaf(certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode())


def still_good(ca: CellCa, certificate_pem: str, names: Sequence[str]) -> bool:
    """Whether a leaf issued earlier can stay: the same names, this root, 30 days or more."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        held = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (ValueError, x509.ExtensionNotFound):
        return False
    if sorted(held.value.get_values_for_type(x509.DNSName)) != sorted(names):
        return False
    if certificate.issuer != ca.certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return certificate.not_valid_after_utc - _now() > RENEW_BEFORE


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
