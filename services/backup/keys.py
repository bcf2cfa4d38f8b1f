"""The keys of the backups (age, through pyrage).

Each backup has its own age identity: every file of the backup is encrypted to it, and it is
kept in the backup only sealed, either to the cell's backup key (an age identity file, made
on first use) or with the passphrase of the cell config. Opening a backup needs that key file
or passphrase, and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from enum import StrEnum
from pathlib import Path

import pyrage
from pyrage import passphrase, x25519

from services.backup.errors import BackupKeyError
from shared.backup_config import BackupConfig


class SealedWith(StrEnum):
    key = "key"
    passphrase = "passphrase"  # noqa: S105 (how a key is sealed, not a password)


def new_identity() -> x25519.Identity:
    return x25519.Identity.generate()


def _read_private(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise BackupKeyError(f"the backup {what} {path} is not readable: {exc.strerror}") from exc


def cell_identity(config: BackupConfig, data_dir: Path, create: bool = True) -> x25519.Identity:
    """The cell's backup key: made (0600) when missing (BackupKeyError unless `create`)."""
    path = config.path(data_dir, config.key_file)
    if not path.exists() and not create:
        raise BackupKeyError(f"the backup key file {path} is missing: no backup can be opened")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(str(new_identity()) + "\n")
    text = _read_private(path, "key file")
    try:
        return x25519.Identity.from_str(text)
    except pyrage.IdentityError as exc:
        raise BackupKeyError(f"the backup key file {path} holds no age identity") from exc


def _passphrase(config: BackupConfig, data_dir: Path) -> str | None:
    if config.passphrase_file is None:
        return None
    value = _read_private(config.path(data_dir, config.passphrase_file), "passphrase file")
    if len(value) < 12:
        raise BackupKeyError("the backup passphrase must have at least 12 characters")
    return value


def check_key(config: BackupConfig, data_dir: Path) -> None:
    """BackupKeyError when backups could not be sealed now (the key file is made if missing)."""
    if _passphrase(config, data_dir) is None:
        cell_identity(config, data_dir)


def seal_identity(
    identity: x25519.Identity, config: BackupConfig, data_dir: Path
) -> tuple[bytes, SealedWith]:
    secret = str(identity).encode()
    phrase = _passphrase(config, data_dir)
    if phrase is not None:
        return passphrase.encrypt(secret, phrase), SealedWith.passphrase
    return pyrage.encrypt(secret, [cell_identity(config, data_dir).to_public()]), SealedWith.key


def open_identity(
    sealed: bytes, how: SealedWith, config: BackupConfig, data_dir: Path
) -> x25519.Identity:
    try:
        if how == SealedWith.passphrase:
            phrase = _passphrase(config, data_dir)
            if phrase is None:
                raise BackupKeyError(
                    "the backup is sealed with a passphrase: set backup.passphrase_file"
                )
            secret = passphrase.decrypt(sealed, phrase)
        else:
            secret = pyrage.decrypt(sealed, [cell_identity(config, data_dir)])
    except pyrage.DecryptError as exc:
        raise BackupKeyError(
            f"the backup's key does not open with the cell's {how.value}: it was made with "
            "another one"
        ) from exc
    return x25519.Identity.from_str(secret.decode())


MANIFEST_LABEL = b"pic-store backup.json v1"


def manifest_key(how: SealedWith, backup_id: str, config: BackupConfig, data_dir: Path) -> bytes:
    """The key that authenticates a backup's own description: derived from the cell's backup
    key (or passphrase), which only this cell (and whoever holds its key) has; a folder
    written by anyone else never carries a description that checks."""
    if how == SealedWith.passphrase:
        phrase = _passphrase(config, data_dir)
        if phrase is None:
            raise BackupKeyError(
                "the backup is sealed with a passphrase: set backup.passphrase_file"
            )
        salt = MANIFEST_LABEL + b":" + backup_id.encode()
        return hashlib.scrypt(phrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    secret = str(cell_identity(config, data_dir, create=False)).encode()
    return hmac.new(secret, MANIFEST_LABEL, hashlib.sha256).digest()


def manifest_tag(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()
