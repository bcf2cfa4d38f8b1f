"""Key files and their password for the trust commands (keygen, sign, verify, publish).

The password comes from `COSIGN_PASSWORD` when it is set (even empty), as cosign does, else
from a prompt on the terminal. It is never printed, logged or put in an error message.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from shared.cosign import KeyFormatError, PrivateKey, PublicKey, load_private_key, load_public_key
from shared.errors import PicStoreError

PASSWORD_ENV = "COSIGN_PASSWORD"  # noqa: S105 (the name of the variable)
MAX_KEY_FILE_BYTES = 64 * 1024


class KeyFileError(PicStoreError):
    """A key file cannot be read, opened or written, or the two passwords typed differ."""

    key = "key_file"


def password(confirm: bool = False) -> bytes:
    """The private key's password: $COSIGN_PASSWORD, or asked (twice with `confirm`)."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env.encode()
    first = getpass.getpass("Enter password for private key: ")
    if confirm and getpass.getpass("Enter password for private key again: ") != first:
        raise KeyFileError("the two passwords differ; nothing was written")
    return first.encode()


def read_key_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path} is too large to be a key file")
    return data


def read_public_key(path: Path) -> PublicKey:
    try:
        return load_public_key(read_key_file(path))
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc.message}") from exc


def read_private_key(path: Path) -> PrivateKey:
    """Open a cosign.key (ours or cosign's) with the password from the env or a prompt."""
    data = read_key_file(path)
    try:
        return load_private_key(data, password())
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc.message}") from exc


def refuse_overwrite(folder: Path) -> None:
    existing = [str(p) for p in (folder / "cosign.key", folder / "cosign.pub") if p.exists()]
    if existing:
        raise KeyFileError(
            f"{' and '.join(existing)} already exists; use --force to replace "
            "(signatures made with the old key stay in the registries)"
        )


def write_key_pair(folder: Path, private_pem: bytes, public_pem: bytes, force: bool) -> None:
    """Write cosign.key (mode 0600, from its creation on) and cosign.pub; refuse to overwrite
    either without `force`."""
    private, public = folder / "cosign.key", folder / "cosign.pub"
    if not force:
        refuse_overwrite(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if force else os.O_EXCL)
    try:
        fd = os.open(private, flags, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public.write_bytes(public_pem)
    except OSError as exc:
        raise KeyFileError(f"cannot write the key pair to {folder}: {exc.strerror or exc}") from exc
