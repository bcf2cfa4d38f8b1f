"""The few host files a store container may bind, read-only: the host's time zone.

Apps ask for `/etc/localtime:/etc/localtime:ro` (and `/etc/timezone`) so their clocks show
local time. These files hold no secret and a read-only bind cannot change them, so the
policy allows exactly these paths, read-only, and nothing below or beside them. Everything
else on the host stays refused (shared/compose/binds.py, docs/security.md). The installer
makes no folder for them: they are the host's own files.
"""

from __future__ import annotations

from typing import Final

HOST_FILES: Final = frozenset({"/etc/localtime", "/etc/timezone"})


def host_file_problem(source: str, read_only: bool) -> str | None:
    """Why a bind of one of HOST_FILES is refused (None when it may be used); only called
    for sources in HOST_FILES."""
    if read_only:
        return None
    return (
        f"the bind mount {source} must be read-only: add :ro (host files are shared with "
        "the host, which a container may read but never change)"
    )
