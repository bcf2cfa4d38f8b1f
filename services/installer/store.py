"""Fetch one service (manifest + compose template) from a store: a folder or a git repository.

A store is untrusted input: its files are read only from inside its root (symlinks that
leave it are refused), only as regular files and only up to a size limit. Stores on this
machine (folders, `file://` and local git paths) are fetched only when the cell config allows
them, and credentials in a store URL are never shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import structlog

from shared.errors import OperationError
from shared.manifest import ManifestInvalidError
from shared.manifest.load import parse_json_text
from shared.manifest.paths import relative_path_problem

MAX_FILE_BYTES = 1024 * 1024
GIT_TIMEOUT = 120.0
INDEX_FILE = "index.json"
MANIFEST_FILE = "manifest.json"
TEMPLATE_FILE = "compose-template.yml"
REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git", "ssh+git", "git+ssh"})
REMOTE_PROTOCOLS = "https:http:ssh:git"
ALLOW_LOCAL_HINT = (
    'set "allow_local_stores": true in config/api/cell_config.json '
    "to install from this machine (for development and tests)"
)

_SERVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER = re.compile(r"^[A-Za-z0-9+.-]+::")  # git's `<transport>::<address>`
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?!:)")
# Greedy up to the authority's last `@`: an unencoded `@` in a password must not split it.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")
_GIT_SUFFIX = re.compile(r"\.git/?$")
_HTTP = re.compile(r"^(git\+)?https?://", re.IGNORECASE)

log = structlog.get_logger("installer")


class StoreError(OperationError):
    """The store cannot be fetched or read, or is refused."""

    key = "store_error"


class StoreKind(Enum):
    folder = "folder"
    local_git = "local git repository"
    remote_git = "remote git repository"


@dataclass(frozen=True)
class FetchedService:
    service_id: str
    manifest_text: str
    manifest_data: object
    template_text: str
    source: str  # the store as it may be shown: credentials masked
    index_entry: dict[str, object]


def mask_url(text: str) -> str:
    """`https://user:token@host/repo.git` -> `https://***@host/repo.git`, for every URL in
    `text`: a store URL may carry credentials, and messages and logs outlive them."""
    return _USERINFO.sub(r"\1***@", text)


def _secrets(store: str) -> list[str]:
    """The credential parts of a store URL, as written and percent-decoded, longest first:
    git may echo them in either form, inside a URL or not."""
    found = re.search(r"://([^/?#\s]*)@", store)
    if found is None or not found.group(1):
        return []
    userinfo = found.group(1)
    password = userinfo.partition(":")[2]
    if not password and not _HTTP.match(store):
        return []  # an ssh or git:// user name is an account; over http(s) it may be a token
    parts = {form for part in (userinfo, password) if part for form in (part, unquote(part))}
    return sorted(parts, key=len, reverse=True)


def _mask_output(text: str, store: str) -> str:
    masked = mask_url(text)
    for secret in _secrets(store):
        masked = masked.replace(secret, "***")
    return masked


def store_kind(store: str) -> StoreKind:
    """Which kind of store a string names, decided as git would for what goes to git."""
    url = store.removeprefix("git+")
    scheme = _SCHEME.match(url)
    if scheme:
        name = scheme.group(1).lower()
        if name in REMOTE_SCHEMES:
            return StoreKind.remote_git
        if name == "file":
            return StoreKind.local_git
        raise StoreError(
            f"the store {mask_url(store)} uses {name}://; a store is a folder or a "
            "git repository at https://, http://, ssh:// or git://"
        )
    if _HELPER.match(url):
        raise StoreError(
            f"the store {mask_url(store)} names a git remote helper "
            "(`transport::address`), which pic-store does not use"
        )
    looks_git = url != store or _GIT_SUFFIX.search(url) is not None
    scp = _SCP_LIKE.match(url)
    # git reads `[user@]host:path` as ssh; a bare `name:x` is taken as git only when it
    # otherwise looks like a repository, so that a folder with a colon stays a folder.
    if scp and (looks_git or "@" in scp.group(0)):
        return StoreKind.remote_git
    return StoreKind.local_git if looks_git else StoreKind.folder


def _check_allowed(store: str, kind: StoreKind, allow_local: bool) -> None:
    if kind is not StoreKind.remote_git and not allow_local:
        raise StoreError(
            f"the store {mask_url(store)} is a {kind.value} on this machine, and "
            f"local stores are not allowed on this cell: {ALLOW_LOCAL_HINT}"
        )


def _escape_point(root: Path, relative: PurePosixPath) -> str:
    """The first part of `relative` whose real place is outside `root` (already resolved)."""
    for end in range(1, len(relative.parts) + 1):
        prefix = PurePosixPath(*relative.parts[:end])
        if not (root / prefix).resolve().is_relative_to(root):
            return str(prefix)
    return str(relative)


def _inside(root: Path, relative: PurePosixPath, what: str) -> Path:
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


def _read_bytes(root: Path, relative: PurePosixPath) -> bytes:
    """A regular file of the store, at most MAX_FILE_BYTES, never through a symlink outside."""
    path = _inside(root, relative, str(relative))
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


def _index_entry(root: Path, service_id: str, source: str) -> dict[str, object]:
    index, issues = parse_json_text(_read_bytes(root, PurePosixPath(INDEX_FILE)), INDEX_FILE)
    if issues:
        raise StoreError(f"the store's {issues[0].message}")
    entries = index.get("services") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise StoreError("the store's index.json has no `services` list")
    entry = next((e for e in entries if isinstance(e, dict) and e.get("id") == service_id), None)
    if entry is None:
        raise StoreError(f"the store at {source} has no service {service_id!r} in its index")
    return entry


def _service_folder(root: Path, service_id: str, entry: dict[str, object]) -> PurePosixPath:
    """The entry's `path` (the seed's index carries one), else `services/<id>`."""
    path = entry.get("path", f"services/{service_id}")
    what = f"the index entry {service_id!r}"
    if not isinstance(path, str):
        raise StoreError(f"{what} has a `path` that is not text")
    problem = relative_path_problem(path)
    if problem:
        raise StoreError(f"{what} has the path {path!r}, which {problem}")
    folder = PurePosixPath(path)
    if not _inside(root, folder, f"the folder {folder} of {what}").is_dir():
        raise StoreError(f"the store has no folder {folder} for {what}")
    return folder


def _manifest(raw: bytes) -> tuple[str, object]:
    """Parsed as `pic-store validate` parses it, so both say the same about a broken file."""
    data, issues = parse_json_text(raw, MANIFEST_FILE)
    if issues:
        raise ManifestInvalidError(issues)
    return raw.decode("utf-8-sig"), data


def read_folder(root: Path, service_id: str, source: str) -> FetchedService:
    """Blocking: read one service from a store folder (`source` is how the store is shown)."""
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"the store {source} is not a folder or a git repository URL") from exc
    if not real_root.is_dir():
        raise StoreError(f"the store {source} is not a folder or a git repository URL")
    entry = _index_entry(real_root, service_id, source)
    folder = _service_folder(real_root, service_id, entry)
    text, data = _manifest(_read_bytes(real_root, folder / MANIFEST_FILE))
    template = _read_bytes(real_root, folder / TEMPLATE_FILE)
    return FetchedService(
        service_id=service_id,
        manifest_text=text,
        manifest_data=data,
        template_text=template.decode("utf-8", "replace"),  # as `pic-store validate` reads it
        source=source,
        index_entry=entry,
    )


async def _clone(store: str, into: Path, allow_local: bool) -> None:
    url = store.removeprefix("git+")
    shown = mask_url(store)
    protocols = REMOTE_PROTOCOLS + (":file" if allow_local else "")
    proc = await asyncio.create_subprocess_exec(
        "git",
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--",
        url,
        str(into),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # GIT_ALLOW_PROTOCOL: git itself refuses what our checks did not expect (ext::, file).
        env={"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": protocols, "PATH": "/usr/bin:/bin"},
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT)
    except TimeoutError as exc:
        raise StoreError(f"cloning the store {shown} took longer than {GIT_TIMEOUT:.0f} s") from exc
    finally:
        if proc.returncode is None:  # timed out or cancelled: git must not outlive its folder
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    if proc.returncode != 0:
        # git's message may quote the URL (older gits keep its credentials): mask it too.
        said = _mask_output(err.decode(errors="replace").strip(), store)[-300:]
        raise StoreError(f"could not clone the store {shown}: {said}")


async def fetch_service(store: str, service_id: str, allow_local: bool) -> FetchedService:
    """The service `service_id` of a store; local stores (folders, `file://`, local git
    paths) only when `allow_local` (the cell config's `allow_local_stores`)."""
    if not _SERVICE_ID.fullmatch(service_id):
        raise StoreError(f"{service_id!r} is not a service id")
    kind = store_kind(store)
    _check_allowed(store, kind, allow_local)
    shown = mask_url(store)
    log.info("store_fetch", store=shown, kind=kind.name, service_id=service_id)
    if kind is StoreKind.folder:
        return await asyncio.to_thread(read_folder, Path(store), service_id, shown)
    tmp = Path(tempfile.mkdtemp(prefix="pic-store-"))
    try:
        await _clone(store, tmp / "store", allow_local)
        return await asyncio.to_thread(read_folder, tmp / "store", service_id, shown)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
