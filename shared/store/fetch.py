"""A store opened as a folder to read: the folder itself, or a fresh shallow clone of a git
store in a temporary folder removed afterwards; and one service fetched from it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shared.store.files import SERVICE_ID, FetchedService, read_folder
from shared.store.source import (
    GIT_TIMEOUT,
    StoreError,
    StoreKind,
    check_allowed,
    clone,
    mask_url,
    store_kind,
)


@asynccontextmanager
async def opened(
    store: str, allow_local: bool, git_timeout: float = GIT_TIMEOUT
) -> AsyncIterator[Path]:
    """The store's folder while the context lasts (local stores only when `allow_local`)."""
    kind = store_kind(store)
    check_allowed(store, kind, allow_local)
    if kind is StoreKind.folder:
        yield Path(store)
        return
    tmp = Path(tempfile.mkdtemp(prefix="pic-store-"))
    try:
        await clone(store, tmp / "store", allow_local, git_timeout)
        yield tmp / "store"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def fetch_service(
    store: str, service_id: str, allow_local: bool, git_timeout: float = GIT_TIMEOUT
) -> FetchedService:
    """The service `service_id` of a store; local stores (folders, `file://`, local git
    paths) only when `allow_local` (the cell config's `allow_local_stores`)."""
    if not SERVICE_ID.fullmatch(service_id):
        raise StoreError(f"{service_id!r} is not a service id")
    async with opened(store, allow_local, git_timeout) as root:
        return await asyncio.to_thread(read_folder, root, service_id, mask_url(store))
