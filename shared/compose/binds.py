"""Where a bind mount may take its source: a folder directly in the service's own folder.

Docker resolves a bind's source on the host at every start of a container, following
symlinks. A source below a folder some container can write could be swapped by that
container, between two starts, for a symlink to anywhere on the host (`/etc`, say). So every
bind source is exactly one level below `${PIC_DATA_DIR}/<id>`: that folder belongs to
pic-store (0700), no container mounts it, and the installer makes each bind folder in it
itself, as a real folder, right before `docker compose up`. The policy (validate, review,
the installer's render) and the installer's host check both ask `bind_problem`.
"""

from __future__ import annotations

import re
from typing import Final

from shared.manifest import normalise_absolute
from shared.manifest.issues import show
from shared.manifest.paths import is_below

# A plain folder name: not `.` or `..`, no `/`, not hidden.
BIND_FOLDER_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def bind_folder(source: str, own_dir: str) -> str | None:
    """The folder's name when `source` is exactly `<own_dir>/<name>`, else None."""
    parent, _, name = source.rpartition("/")
    if parent != own_dir or not BIND_FOLDER_RE.fullmatch(name):
        return None
    return name


def bind_problem(source: str, own_dir: str, service_id: str) -> str | None:
    """Why `source` (a host path as Compose gives it) may not be a bind source, naming what
    to write instead; None when it may."""
    if bind_folder(source, own_dir) is not None:
        return None
    own = f"${{PIC_DATA_DIR}}/{service_id}"
    instead = f"bind a folder directly in it, {own}/<name>, or use a named volume"
    if source.startswith("/etc/") and ("localtime" in source or "timezone" in source):
        instead = (
            "bind /etc/localtime or /etc/timezone exactly, read-only (:ro), or set TZ in "
            "environment (a config_schema field lets the admin choose it)"
        )
    path = normalise_absolute(source) if source.startswith("/") else source
    if path == own_dir:
        return (
            f"the bind mount {own} is the service's own folder, which no container may "
            f"mount: {instead}"
        )
    if not path.startswith("/") or not is_below(path, own_dir):
        return (
            f"the bind mount {show(source)} is outside this service's data folder "
            f"{own} = {own_dir}: {instead}"
        )
    relative = source.removeprefix(own_dir + "/") if source.startswith(own_dir + "/") else ""
    first = relative.split("/", 1)[0]
    if "/" in relative.strip("/") and BIND_FOLDER_RE.fullmatch(first):
        return (
            f"the bind mount {own}/{relative} lies below {own}/{first}, a folder a "
            "container can write (it could make it a symlink to the host before the next "
            f"start): {instead}"
        )
    return (
        f"the bind mount {show(source)} must be a folder directly in this service's data "
        f"folder {own}, named with letters, digits, `_`, `.` and `-` (not starting with "
        f"a dot): {instead}"
    )
