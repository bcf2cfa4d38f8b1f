"""Credentials at rest and in flight: encrypted with the service's own key in its buckets
(JetStream encrypts at rest too), and sealed to an asker's one-time age key on the bus. What
the installer hands this service (each service's account-API secret) comes sealed to this
service's own age recipient, announced in its presence, and is kept encrypted like the rest."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path

import pyrage
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
    """Encrypts credentials with a key made once in a root-only file; opens what is sealed
    to its age identity (made once in another root-only file)."""

    def __init__(self, key_file: Path, identity_file: Path) -> None:
        if not key_file.exists():
            _private_file(key_file, Fernet.generate_key())
        self._fernet = Fernet(key_file.read_bytes().strip())
        if not identity_file.exists():
            _private_file(identity_file, str(pyrage.x25519.Identity.generate()).encode())
        self._identity = pyrage.x25519.Identity.from_str(identity_file.read_text().strip())

    @property
    def recipient(self) -> str:
        """The age recipient the installer seals to (announced in the presence)."""
        return str(self._identity.to_public())

    def open_sealed(self, sealed: str, what: str) -> dict[str, str]:
        """A JSON object sealed to this service's recipient; AccountsError naming `what`."""
        try:
            data = json.loads(pyrage.decrypt(base64.b64decode(sealed), [self._identity]))
        except (pyrage.DecryptError, binascii.Error, ValueError) as exc:
            raise AccountsError(
                f"{what} does not open with this accounts service's key (sealed to another, "
                "or accounts/handover.key was replaced): install the service again"
            ) from exc
        if not isinstance(data, dict):
            raise AccountsError(f"{what} is not what the installer seals")
        return {str(k): str(v) for k, v in data.items()}

    def lock_text(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def unlock_text(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise AccountsError(
                "a stored secret does not decrypt with the key in the data dir (was "
                "credentials.key replaced?)"
            ) from exc

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
