"""Credentials at rest and in flight: encrypted with the service's own key in its buckets
(JetStream encrypts at rest too), and sealed to an asker's one-time age key on the bus."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.accounts.errors import AccountsError

Credentials = dict[str, str]


def _private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class Vault:
    """Encrypts credentials with a key made once in a root-only file."""

    def __init__(self, key_file: Path) -> None:
        if not key_file.exists():
            _private_file(key_file, Fernet.generate_key())
        self._fernet = Fernet(key_file.read_bytes().strip())

    def lock(self, credentials: Credentials) -> str:
        return self._fernet.encrypt(json.dumps(credentials).encode()).decode()

    def unlock(self, token: str) -> Credentials:
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise AccountsError(
                "stored credentials do not decrypt with the key in the data dir (was "
                "credentials.key replaced?)"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}


def generate(kinds: list[str]) -> Credentials:
    """Fresh credentials of the kinds a manifest lists."""
    return {kind: _make(kind) for kind in kinds}


def _make(kind: str) -> str:
    if kind == "password":
        return secrets.token_urlsafe(18)
    if kind == "token":
        return secrets.token_hex(32)
    if kind == "ssh_key":
        key = Ed25519PrivateKey.generate()
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
    raise AccountsError(f"no way to make a credential of kind {kind!r}")
