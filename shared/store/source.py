"""Where a store comes from: a folder on this machine or a git repository, what of its address
may be shown (never the credentials a URL carries), and the clone of a git store.

Stores on this machine (folders, `file://` and local git paths) are used only when the cell
config allows them (`allow_local_stores`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from enum import Enum
from pathlib import Path
from urllib.parse import unquote

from shared.errors import OperationError

GIT_TIMEOUT = 120.0
REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git", "ssh+git", "git+ssh"})
REMOTE_PROTOCOLS = "https:http:ssh:git"
ALLOW_LOCAL_HINT = (
    'set "allow_local_stores": true in config/api/cell_config.json '
    "to install from this machine (for development and tests)"
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER = re.compile(r"^[A-Za-z0-9+.-]+::")  # git's `<transport>::<address>`
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?!:)")
# Greedy up to the authority's last `@`: an unencoded `@` in a password must not split it.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")
_GIT_SUFFIX = re.compile(r"\.git/?$")
_HTTP = re.compile(r"^(git\+)?https?://", re.IGNORECASE)


class StoreError(OperationError):
    """The store cannot be fetched or read, or is refused."""

    key = "store_error"


class StoreKind(Enum):
    folder = "folder"
    local_git = "local git repository"
    remote_git = "remote git repository"


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


def mask_output(text: str, store: str) -> str:
    """`text` (a program's output about `store`) with the store's credentials masked."""
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


def check_allowed(store: str, kind: StoreKind, allow_local: bool) -> None:
    """Refuse a store on this machine unless the cell allows local stores."""
    if kind is not StoreKind.remote_git and not allow_local:
        raise StoreError(
            f"the store {mask_url(store)} is a {kind.value} on this machine, and "
            f"local stores are not allowed on this cell: {ALLOW_LOCAL_HINT}"
        )


async def clone(store: str, into: Path, allow_local: bool, timeout: float = GIT_TIMEOUT) -> None:
    """A shallow clone of the git store into `into` (a folder that does not exist yet); git
    itself refuses protocols other than the remote ones (and `file` when local is allowed)."""
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
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        raise StoreError(f"cloning the store {shown} took longer than {timeout:.0f} s") from exc
    finally:
        if proc.returncode is None:  # timed out or cancelled: git must not outlive its folder
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    if proc.returncode != 0:
        # git's message may quote the URL (older gits keep its credentials): mask it too.
        said = mask_output(err.decode(errors="replace").strip(), store)[-300:]
        raise StoreError(f"could not clone the store {shown}: {said}")
