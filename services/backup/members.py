"""What an archive of a backup may hold, member by member: regular files, folders, symlinks
and hard links that stay inside the place the archive is put back into. Nothing else ever
reaches Docker's archive API or the host: no `..`, no absolute name, no absolute symlink nor
one that leads out, no hard link to something the archive does not hold, no device node,
FIFO or other special entry, nothing written through a symlink.

The same rule is applied when a backup is made (a volume that could not be put back is
refused then, naming the entry) and when it is restored or verified (each archive is copied
through `safe_copy` into a new tar of only the checked members, which is what is extracted).
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from pathlib import Path

from services.backup.errors import BackupCorruptError, UnsafeEntryError


def _kind(member: tarfile.TarInfo) -> str:
    if member.ischr() or member.isblk():
        return "a device node"
    if member.isfifo():
        return "a FIFO"
    return "a special entry"


class MemberRule:
    """Checks the members of one archive in order; `scopes` are the relative folders the
    names must stay in (None: anywhere below the archive's root, as for a volume)."""

    def __init__(self, scopes: list[str] | None = None) -> None:
        self.scopes = scopes
        self.files: set[str] = set()
        self.links: set[str] = set()

    def _scope_of(self, name: str) -> str | None:
        if self.scopes is None:
            return ""
        for scope in self.scopes:
            if name == scope or name.startswith(scope + "/"):
                return scope
        return None

    def problem(self, member: tarfile.TarInfo) -> str | None:
        """Why `member` may not be put back (a sentence naming it), or None; it is then
        remembered (a later hard link may point at it)."""
        raw = member.name
        if raw.startswith("/"):
            return f"{raw!r} has an absolute name"
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if ".." in parts or "\x00" in raw:
            return f"{raw!r} has a '..' in its name"
        name = "/".join(parts)
        if not name:
            return None if member.isdir() else f"{raw!r} names the archive's root"
        scope = self._scope_of(name)
        if scope is None:
            return f"{name!r} is outside {', '.join(self.scopes or [])}"
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in self.links:
                return f"{name!r} would be written through the symlink {'/'.join(parts[:depth])!r}"
        if member.isfile() or member.isdir():
            if member.isfile():
                self.files.add(name)
            return None
        if member.issym():
            target = member.linkname
            if target.startswith("/"):
                return f"{name!r} is a symlink to the absolute path {target!r}"
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            inside = joined != ".." and not joined.startswith("../")
            if not inside or (scope and joined != scope and not joined.startswith(scope + "/")):
                return f"{name!r} is a symlink that leads out ({target!r})"
            self.links.add(name)
            return None
        if member.islnk():
            target = "/".join(p for p in member.linkname.split("/") if p not in ("", "."))
            if target not in self.files:
                return f"{name!r} is a hard link to {member.linkname!r}, not a file of the archive"
            self.files.add(name)
            return None
        return f"{name!r} is {_kind(member)}"


def check_archive(path: Path, what: str, scopes: list[str] | None = None) -> None:
    """UnsafeEntryError naming the first member of the gzip archive that may not be put
    back (read as a stream: memory stays flat)."""
    rule = MemberRule(scopes)
    try:
        with tarfile.open(path, "r|gz") as tar:
            for member in tar:
                problem = rule.problem(member)
                if problem is not None:
                    raise UnsafeEntryError(f"{what}: {problem}: refused, nothing was put back")
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupCorruptError(f"{what}: the archive is broken: {exc}") from exc


def safe_copy(source: Path, target: Path, what: str, scopes: list[str] | None = None) -> None:
    """Copy the gzip archive `source` into the plain tar `target`, member by member, each
    checked first (UnsafeEntryError naming the first refused; `target` is then removed).
    Only what `target` holds is ever extracted."""
    rule = MemberRule(scopes)
    try:
        with (
            tarfile.open(source, "r|gz") as tar,
            tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as out,
        ):
            for member in tar:
                problem = rule.problem(member)
                if problem is not None:
                    raise UnsafeEntryError(f"{what}: {problem}: refused, nothing was put back")
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        target.unlink(missing_ok=True)
        raise BackupCorruptError(f"{what}: the archive is broken: {exc}") from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise
