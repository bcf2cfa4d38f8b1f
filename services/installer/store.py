"""Fetch one service (manifest + compose template) from a store: a folder or a git repository."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared.errors import OperationError

MAX_FILE_BYTES = 1024 * 1024
GIT_TIMEOUT = 120.0
GIT_URL = re.compile(r"^(git\+|file://|ssh://|git://|https?://)|\.git/?$")


class StoreError(OperationError):
    key = "store_error"


@dataclass(frozen=True)
class FetchedService:
    service_id: str
    manifest_text: str
    template_text: str
    source: str
    index_entry: dict[str, object]


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        raise StoreError(f"the store has no {what} ({path.name} missing)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise StoreError(f"{what} is larger than {MAX_FILE_BYTES // 1024} KiB")
    return path.read_text(errors="replace")


def read_folder(root: Path, service_id: str, source: str) -> FetchedService:
    try:
        index = json.loads(_read(root / "index.json", "index.json"))
    except ValueError as exc:
        raise StoreError(f"the store's index.json is not valid JSON: {exc}") from exc
    entries = index.get("services") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise StoreError("the store's index.json has no `services` list")
    entry = next((e for e in entries if isinstance(e, dict) and e.get("id") == service_id), None)
    if entry is None:
        raise StoreError(f"the store at {source} has no service {service_id!r} in its index")
    folder = root / "services" / service_id
    return FetchedService(
        service_id=service_id,
        manifest_text=_read(folder / "manifest.json", f"manifest for {service_id}"),
        template_text=_read(folder / "compose-template.yml", f"compose template for {service_id}"),
        source=source,
        index_entry=entry,
    )


async def _clone(url: str, into: Path) -> None:
    url = url.removeprefix("git+")
    proc = await asyncio.create_subprocess_exec(
        "git", "clone", "--quiet", "--depth", "1", "--", url, str(into),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT)
    except TimeoutError as exc:
        proc.kill()
        raise StoreError(f"cloning the store {url} took longer than {GIT_TIMEOUT:.0f} s") from exc
    if proc.returncode != 0:
        raise StoreError(f"could not clone the store {url}: {err.decode(errors='replace')[-300:]}")


async def fetch_service(store: str, service_id: str) -> FetchedService:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", service_id):
        raise StoreError(f"{service_id!r} is not a service id")
    if GIT_URL.search(store):
        tmp = Path(tempfile.mkdtemp(prefix="pic-store-"))
        try:
            await _clone(store, tmp / "store")
            return await asyncio.to_thread(read_folder, tmp / "store", service_id, store)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return await asyncio.to_thread(_read_local, Path(store), service_id, store)


def _read_local(root: Path, service_id: str, source: str) -> FetchedService:
    if not root.is_dir():
        raise StoreError(f"the store {source} is not a folder or a git repository URL")
    return read_folder(root, service_id, source)
