"""Reading a store's files: its `index.json`, a service's folder, manifest and template.

A store is untrusted input: its files are read only from inside its root (symlinks that leave
it are refused), only as regular files and only up to a size limit. Blocking: callers on an
event loop run these in a thread.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shared.manifest import ManifestInvalidError
from shared.manifest.load import parse_json_text
from shared.manifest.paths import relative_path_problem
from shared.store.source import StoreError

MAX_FILE_BYTES = 1024 * 1024
INDEX_FILE = "index.json"
MANIFEST_FILE = "manifest.json"
TEMPLATE_FILE = "compose-template.yml"

SERVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

IndexEntry = dict[str, object]


@dataclass(frozen=True)
class FetchedService:
    service_id: str
    manifest_text: str
    manifest_data: object
    template_text: str
    source: str  # the store as it may be shown: credentials masked
    index_entry: IndexEntry


def _escape_point(root: Path, relative: PurePosixPath) -> str:
    """The first part of `relative` whose real place is outside `root` (already resolved)."""
    for end in range(1, len(relative.parts) + 1):
        prefix = PurePosixPath(*relative.parts[:end])
        if not (root / prefix).resolve().is_relative_to(root):
            return str(prefix)
    return str(relative)


def inside(root: Path, relative: PurePosixPath, what: str) -> Path:
    """The real path of `relative` below `root` (already resolved); symlinks may be followed
    only while they stay in the store, since a store is untrusted (a clone holds its own)."""
    try:
        real = (root / relative).resolve()
        if real.is_relative_to(root):
            return real
        culprit = _escape_point(root, relative)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise StoreError(f"{what} in the store cannot be resolved: {exc}") from exc
    if culprit == str(relative):
        raise StoreError(f"{what} in the store is a symlink pointing outside the store")
    raise StoreError(
        f"{what} in the store leads outside the store: {culprit} is a symlink pointing outside it"
    )


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device or other special file"


def read_bytes(root: Path, relative: PurePosixPath) -> bytes:
    """A regular file of the store, at most MAX_FILE_BYTES, never through a symlink outside."""
    path = inside(root, relative, str(relative))
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise StoreError(f"the store has no {relative}") from exc
    except OSError as exc:
        raise StoreError(f"{relative} in the store cannot be read: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise StoreError(f"{relative} in the store is {_kind_of(mode)}, not a regular file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise StoreError(f"{relative} in the store is larger than {MAX_FILE_BYTES // 1024} KiB")
    return data


def real_root(root: Path, source: str) -> Path:
    """The store folder, resolved; refused when it is not a folder."""
    try:
        real = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"the store {source} is not a folder or a git repository URL") from exc
    if not real.is_dir():
        raise StoreError(f"the store {source} is not a folder or a git repository URL")
    return real


def index_entries(root: Path) -> list[object]:
    """The `services` list of the store's index.json (its items unchecked)."""
    index, issues = parse_json_text(read_bytes(root, PurePosixPath(INDEX_FILE)), INDEX_FILE)
    if issues:
        raise StoreError(f"the store's {issues[0].message}")
    entries = index.get("services") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise StoreError("the store's index.json has no `services` list")
    return entries


def index_entry(root: Path, service_id: str, source: str) -> IndexEntry:
    entries = index_entries(root)
    entry = next((e for e in entries if isinstance(e, dict) and e.get("id") == service_id), None)
    if entry is None:
        raise StoreError(f"the store at {source} has no service {service_id!r} in its index")
    return entry


def service_folder(root: Path, service_id: str, entry: IndexEntry) -> PurePosixPath:
    """The entry's `path` (the seed's index carries one), else `services/<id>`."""
    path = entry.get("path", f"services/{service_id}")
    what = f"the index entry {service_id!r}"
    if not isinstance(path, str):
        raise StoreError(f"{what} has a `path` that is not text")
    problem = relative_path_problem(path)
    if problem:
        raise StoreError(f"{what} has the path {path!r}, which {problem}")
    folder = PurePosixPath(path)
    if not inside(root, folder, f"the folder {folder} of {what}").is_dir():
        raise StoreError(f"the store has no folder {folder} for {what}")
    return folder


def parse_manifest_bytes(raw: bytes) -> tuple[str, object]:
    """Parsed as `pic-store validate` parses it, so both say the same about a broken file."""
    data, issues = parse_json_text(raw, MANIFEST_FILE)
    if issues:
        raise ManifestInvalidError(issues)
    return raw.decode("utf-8-sig"), data


def read_manifest(root: Path, service_id: str, entry: IndexEntry) -> tuple[str, object]:
    """The text and data of the manifest of the service an index entry names."""
    folder = service_folder(root, service_id, entry)
    return parse_manifest_bytes(read_bytes(root, folder / MANIFEST_FILE))


def read_folder(root: Path, service_id: str, source: str) -> FetchedService:
    """Blocking: read one service from a store folder (`source` is how the store is shown)."""
    resolved = real_root(root, source)
    entry = index_entry(resolved, service_id, source)
    folder = service_folder(resolved, service_id, entry)
    text, data = parse_manifest_bytes(read_bytes(resolved, folder / MANIFEST_FILE))
    template = read_bytes(resolved, folder / TEMPLATE_FILE)
    return FetchedService(
        service_id=service_id,
        manifest_text=text,
        manifest_data=data,
        template_text=template.decode("utf-8", "replace"),  # as `pic-store validate` reads it
        source=source,
        index_entry=entry,
    )
