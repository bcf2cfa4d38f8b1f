"""Identities on the bus and the nats-server configuration that enforces their roles.

Each role of a cell has its own NATS nkey; its seed is a file only root can read
(`<dir>/<cell>/<role>.nk`). The server's configuration lists every public key with the
permissions its role needs (the event contract derives them: shared/events/permissions.py),
so nats-server (not our code) refuses what a role may not do. Replies come to a per-identity
inbox prefix, so no identity can read another's answers.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nkeys

SEED_SUFFIX = ".nk"


def inbox_prefix(cell: str, role: str) -> str:
    return f"_INBOX.{cell}.{role}"


def new_seed() -> bytes:
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


def seed_path(directory: Path, cell: str, role: str) -> Path:
    return directory / cell / f"{role}{SEED_SUFFIX}"


def ensure_identities(directory: Path, cell: str, roles: Iterable[str]) -> dict[str, str]:
    """A seed file per role of the cell (made once, 0600 in 0700 folders); role -> public key."""
    folder = directory / cell
    folder.mkdir(parents=True, exist_ok=True)
    for path in (directory, folder):
        path.chmod(0o700)
    keys = {}
    for role in roles:
        path = seed_path(directory, cell, role)
        if not path.exists():
            _write_private(path, new_seed())
        keys[role] = public_key(path.read_bytes().strip())
    return keys


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def server_config(
    *, port: int, store_dir: Path, users: list[dict[str, Any]], cipher_key: str, server_name: str
) -> dict[str, Any]:
    """nats-server's configuration (its format reads JSON): loopback, JetStream encrypted at
    rest, and no connection without one of the identities."""
    return {
        "server_name": server_name,
        "host": "127.0.0.1",
        "port": port,
        "jetstream": {"store_dir": str(store_dir), "cipher": "chachapoly", "key": cipher_key},
        "authorization": {"users": users},
    }


def write_server_config(path: Path, config: Mapping[str, Any]) -> None:
    """Atomically, 0600: it holds the encryption key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, json.dumps(config, indent=1).encode())
    tmp.replace(path)


def cipher_key(path: Path) -> str:
    """The JetStream encryption key, made once and kept in a root-only file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()


__all__ = [
    "cipher_key",
    "ensure_identities",
    "inbox_prefix",
    "seed_path",
    "server_config",
    "write_server_config",
]
