"""Path rules: volume mounts (absolute, not a system path nor below a kernel or runtime one,
not the PIC root) and the relative paths of backups (never escaping their root)."""

from __future__ import annotations

import posixpath

from shared.manifest.const import MOUNT_PATH_RE, SYSTEM_PATH_SUBTREES, SYSTEM_PATHS

MAX_PATH_LENGTH = 4096


def normalise_absolute(path: str) -> str:
    """Collapse `//`, `.`, `..` and trailing slashes: `/etc/../etc/` and `//etc` -> `/etc`."""
    # posixpath keeps a leading `//` (POSIX leaves it implementation-defined); Linux does not.
    return "/" + posixpath.normpath("/" + path.lstrip("/")).lstrip("/")


def overlaps(path: str, other: str) -> bool:
    """Equal, one inside the other (both normalised absolute paths)."""
    return path == other or is_below(path, other) or is_below(other, path)


def is_below(path: str, parent: str) -> bool:
    return parent != path and (parent == "/" or path.startswith(parent.rstrip("/") + "/"))


def system_path_of(path: str) -> str | None:
    """The system path a normalised absolute path is, or is below; None when it is neither."""
    for system in SYSTEM_PATHS:
        if path == system or (system != "/" and is_below(path, system)):
            return system
    return None


def mount_problem(mount: str, pic_root: str) -> str | None:
    """Why a volume mount path is refused, or None when it is fine."""
    if not mount.startswith("/"):
        return "must be an absolute path (starting with /)"
    if len(mount) > MAX_PATH_LENGTH:
        return f"is longer than {MAX_PATH_LENGTH} characters"
    if not MOUNT_PATH_RE.fullmatch(mount):
        return "may only use letters, digits and . _ @ + - / (no spaces, colons or commas)"
    path = normalise_absolute(mount)
    problem = _system_path_problem(path)
    if problem:
        return problem
    root = normalise_absolute(pic_root)
    if overlaps(path, root):
        return f"overlaps the PIC project root {root}"
    return None


def _system_path_problem(path: str) -> str | None:
    """Why a mount at or below a system path is refused; None when it is neither, or below a
    system path whose subtree is allowed (SYSTEM_PATH_SUBTREES)."""
    system = system_path_of(path)
    if system is None:
        return None
    subtree_refused = SYSTEM_PATH_SUBTREES[system]
    if path == system:
        hint = "" if subtree_refused else " (a data folder below it is fine)"
        return f"is the system path {system}{hint}"
    if subtree_refused:
        return f"is inside the system path {system} (a kernel or runtime filesystem)"
    return None


def relative_path_problem(path: str) -> str | None:
    """Why a path that must stay below its root (backup names, config paths) is refused."""
    if not path:
        return "must not be empty"
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return "must be a relative path"
    if "\\" in path or "\x00" in path:
        return "must not contain backslashes or NUL characters"
    parts = path.split("/")
    if any(part == ".." for part in parts):
        return "must not contain .. (it would leave its root)"
    if posixpath.normpath(path) in (".", ""):
        return "must name something below its root"
    return None
