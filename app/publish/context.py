"""A service folder as a Docker build context: an uncompressed tar, built in memory."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

SKIPPED = frozenset({".git"})
MAX_CONTEXT_BYTES = 256 * 1024 * 1024


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_context(folder: Path, max_bytes: int = MAX_CONTEXT_BYTES) -> bytes:
    """Every file of `folder` (but `.git`), in sorted order, owned by root; symlinks stay
    links. ValueError when the context would pass `max_bytes`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if relative.parts[0] in SKIPPED:
                continue
            tar.add(path, arcname=relative.as_posix(), recursive=False, filter=_reset_owner)
            if buffer.tell() > max_bytes:
                raise ValueError(
                    f"the build context {folder} is larger than {max_bytes // (1024 * 1024)} MiB"
                )
    return buffer.getvalue()
