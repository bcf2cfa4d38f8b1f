"""cosign keys: PEM public keys, key ids, and the encrypted `cosign.key` private key.

Public keys are PEM `PUBLIC KEY` (SubjectPublicKeyInfo): ECDSA (P-256, as cosign makes them;
P-384 and P-521 also verify, with SHA-256 as cosign uses), Ed25519 and RSA (PKCS#1 v1.5,
SHA-256). A key id is the lowercase hex sha256 of the DER SubjectPublicKeyInfo: the same
scheme Rekor uses for its log id, so `rekor.pub` has the id that appears as `logID`.
Private keys are ECDSA P-256 in cosign's encrypted format (see `encrypted`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from shared.cosign import encrypted
from shared.cosign.errors import KeyFormatError

PublicKeyType = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
PRIVATE_KEY_PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


def pem_block(text: bytes) -> tuple[str, bytes]:
    """The type and decoded body of the first PEM block in `text`."""
    match = _PEM_RE.search(text)
    if match is None:
        raise KeyFormatError("not a PEM key file (no -----BEGIN ...----- block)")
    try:
        body = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except ValueError as exc:
        raise KeyFormatError("the PEM block is not valid base64") from exc
    return match.group(1).decode(), body


def pem_encode(kind: str, body: bytes) -> bytes:
    """PEM armour with 64-character lines, as Go's encoding/pem writes it."""
    encoded = base64.b64encode(body).decode("ascii")
    lines = "".join(f"{encoded[i : i + 64]}\n" for i in range(0, len(encoded), 64))
    return f"-----BEGIN {kind}-----\n{lines}-----END {kind}-----\n".encode()


@dataclass(frozen=True)
class PublicKey:
    """A trusted (or to-be-checked) public key and its id."""

    key: PublicKeyType
    key_id: str

    @classmethod
    def of(cls, key: PublicKeyType) -> PublicKey:
        return cls(key, hashlib.sha256(_spki(key)).hexdigest())

    @property
    def der(self) -> bytes:
        return _spki(self.key)

    def pem(self) -> bytes:
        return pem_encode("PUBLIC KEY", self.der)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when `signature` (ASN.1 DER for ECDSA) is valid over `data`."""
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, data)
            else:
                self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def _spki(key: PublicKeyType) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes | str) -> PublicKey:
    """Load a PEM `PUBLIC KEY` (cosign.pub, rekor.pub)."""
    kind, der = pem_block(pem.encode() if isinstance(pem, str) else pem)
    if kind != "PUBLIC KEY":
        raise KeyFormatError(f"expected a PEM PUBLIC KEY, found {kind!r}")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(
            "the public key does not parse (not an X.509 SubjectPublicKeyInfo)"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise KeyFormatError(f"unsupported public key type {type(key).__name__}")
    return PublicKey.of(key)


@dataclass(frozen=True)
class PrivateKey:
    """An ECDSA P-256 signing key; never printed."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    public: PublicKey

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 / SHA-256, ASN.1 DER: what cosign puts in signatures."""
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def generate_key_pair(password: bytes) -> tuple[bytes, bytes]:
    """A new (cosign.key, cosign.pub) pair, PEM, as `cosign generate-key-pair` writes them."""
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_pem = pem_encode(PRIVATE_KEY_PEM_TYPES[0], encrypted.encrypt(der, password))
    return private_pem, PublicKey.of(key.public_key()).pem()


def load_private_key(pem: bytes | str, password: bytes) -> PrivateKey:
    """Open a cosign.key (ours or one made by cosign); KeyPasswordError on a wrong password."""
    kind, body = pem_block(pem.encode() if isinstance(pem, str) else pem)
    if kind not in PRIVATE_KEY_PEM_TYPES:
        raise KeyFormatError(
            f"expected an ENCRYPTED SIGSTORE PRIVATE KEY (cosign.key), found {kind!r}"
        )
    der = encrypted.decrypt(body, password)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("the decrypted private key is not PKCS#8") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise KeyFormatError("only ECDSA P-256 private keys can sign (as cosign makes them)")
    return PrivateKey(key, PublicKey.of(key.public_key()))
