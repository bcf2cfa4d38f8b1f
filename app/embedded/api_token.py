"""The bearer token of the gateway's HTTP API in the embedded stack: made once, readable by
its owner only.

The services read it from the file `PIC_API_TOKEN_FILE` names; `pic-store up` prints the
path, never the token, so it reaches no terminal scroll-back or log.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters, 256 bits


def api_token_path(data_dir: Path) -> Path:
    return data_dir / "secrets" / "api-token"


def ensure_api_token(data_dir: Path) -> Path:
    """The token file under `data_dir`, written on first use; its folder 0700, itself 0600."""
    path = api_token_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode applies only to a folder it makes, and only through the umask.
    path.parent.chmod(0o700)
    if path.is_file() and path.stat().st_size == 0:
        path.unlink()  # a write cut short: no client can hold a token from it
    # One made by an earlier `up` is kept, so the clients that have it keep working.
    with contextlib.suppress(FileExistsError):
        _write_new(path, secrets.token_urlsafe(TOKEN_BYTES))
    path.chmod(0o600)
    return path


def _write_new(path: Path, token: str) -> None:
    # O_EXCL: never overwrite a token; 0o600 from the start, so it is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(token + "\n")
