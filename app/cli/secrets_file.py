"""The `--secrets FILE` of `pic-store render`: a JSON object of secret name -> value,
readable by its owner only, replaced atomically so a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class SecretsFileError(Exception):
    """The file cannot be used; the message never holds a secret."""


def read_secrets(path: Path) -> dict[str, str]:
    """The stored secrets; {} when the file does not exist yet."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretsFileError(
            f"cannot read the secrets file {path}: {exc.__class__.__name__}"
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretsFileError(f"the secrets file {path} is not valid JSON") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SecretsFileError(f"the secrets file {path} must be a JSON object of names to text")
    return data


def write_secrets(path: Path, secrets: dict[str, str]) -> None:
    """Write with mode 0600 through a temporary file in the same folder, then rename."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SecretsFileError(f"cannot write the secrets file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(secrets, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise SecretsFileError(f"cannot write the secrets file {path}: {exc.strerror}") from None
