"""What each container of the deployment reads, in a folder of its own: `<data>/roles/<role>/`.

`prepare` hard-links each role's secrets there (its bus seed, the API token for the gateway,
whose HTTP API wants it, the backup key for the backup service); deploy/compose.yml mounts
that folder read-only into the role's container and nothing else of `<data>/secrets/`. A
link is the same file, so nothing is copied and nothing drifts: a seed, the token and the
key are written once and never replaced.

Files of the admin's for one role (the router's TSIG key, say) may be put in its folder too;
`prepare` only replaces the names below.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyrage

from app.embedded.api_token import api_token_path
from shared.bus.auth import seed_path
from shared.config import CellConfig

ROLES_DIR = "roles"
SEED = "nats.nk"
TOKEN = "api-token"  # noqa: S105 (a file name)
BACKUP_KEY = "backup-key.txt"
NATS_CONFIG = "nats-server.json"
DEFAULT_BACKUP_KEY = "secrets/backup-key.txt"
# The backup key's place in a deployment's cell config (relative to the data dir).
BACKUP_KEY_FILE = f"{ROLES_DIR}/backup/{BACKUP_KEY}"


def role_dir(data: Path, role: str) -> Path:
    return data / ROLES_DIR / role


def role_files(data: Path, cell: str) -> dict[str, dict[str, Path]]:
    """Role -> file name in its folder -> the file it links to."""
    seeds = data / "secrets" / "nats"
    token = api_token_path(data)
    files: dict[str, dict[str, Path]] = {
        "nats": {NATS_CONFIG: data / "secrets" / NATS_CONFIG},
        "gateway": {TOKEN: token},
    }
    for role in ("installer", "gateway", "verifier", "router", "netpolicy", "accounts", "backup"):
        files.setdefault(role, {})[SEED] = seed_path(seeds, cell, role)
    return files


def link_role_files(data: Path, cell: str) -> Path:
    """Each role's folder (0700) with links to its files; `<data>/roles` itself."""
    top = data / ROLES_DIR
    top.mkdir(mode=0o700, exist_ok=True)
    top.chmod(0o700)
    for role, files in role_files(data, cell).items():
        folder = role_dir(data, role)
        folder.mkdir(mode=0o700, exist_ok=True)
        for name, source in files.items():
            (folder / name).unlink(missing_ok=True)
            os.link(source, folder / name)
    return top


def place_backup_key(data: Path) -> str:
    """The cell's backup key in the backup service's folder, the only one its container sees
    (made here when missing: the container may not write there). A cell config naming the
    old default place is moved along (the old name stays, the same file). Returns a line
    for the log; ValueError names a key the backup container could not see."""
    config = CellConfig.load(data)
    wanted = BACKUP_KEY_FILE
    if config.backup.key_file not in (wanted, DEFAULT_BACKUP_KEY):
        raise ValueError(
            f"the backup key {config.backup.key_file!r} (backup.key_file in the cell config) "
            f"is outside {role_dir(data, 'backup')}, the only folder of keys the backup "
            f"container mounts: move it to {data / wanted} and set backup.key_file to {wanted!r}"
        )
    key = data / wanted
    old = data / DEFAULT_BACKUP_KEY
    if not key.exists() and old.exists():
        os.link(old, key)
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(str(pyrage.x25519.Identity.generate()) + "\n")
    if config.backup.key_file != wanted:
        backup = config.backup.model_copy(update={"key_file": wanted})
        config.model_copy(update={"backup": backup}).write(data)
        return f"backup key moved to {key} (backup.key_file in the cell config)"
    return f"backup key in {key}"
