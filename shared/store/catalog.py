"""A store's catalog: its index and each listed service's manifest, read without installing.

What the installer reads of one service, the catalog reads of every service in the index,
with the same rules (shared/store/files.py): files only from inside the store, each bounded,
git stores cloned shallowly into a temporary folder. A service whose entry or manifest is
broken stays in the catalog with the reason, so that one bad service does not hide the others.
`CatalogCache` keeps each store's catalog for a while, so that browsing does not clone a git
store on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.errors import PicStoreError
from shared.store.fetch import opened
from shared.store.files import (
    SERVICE_ID,
    IndexEntry,
    index_entries,
    read_manifest,
    real_root,
)
from shared.store.source import GIT_TIMEOUT, mask_url

MAX_SERVICES = 500  # entries of an index read; the rest is reported, not read
MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # all manifests of a catalog together
CACHE_SECONDS = 60.0
CACHE_STORES = 16


@dataclass(frozen=True)
class CatalogItem:
    """One service of the index: its entry, and its manifest or why it could not be read."""

    service_id: str
    entry: IndexEntry
    manifest_data: object | None
    problem: str | None = None


@dataclass(frozen=True)
class Catalog:
    source: str  # the store as it may be shown: credentials masked
    items: tuple[CatalogItem, ...]
    problems: tuple[str, ...]  # entries of the index that are not a service
    read_at: datetime

    def item(self, service_id: str) -> CatalogItem | None:
        return next((i for i in self.items if i.service_id == service_id), None)


def read_catalog(root: Path, source: str) -> Catalog:
    """Blocking: the catalog of a store folder (`source` is how the store is shown)."""
    resolved = real_root(root, source)
    entries = index_entries(resolved)
    items: list[CatalogItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    budget = MAX_MANIFEST_BYTES
    for position, entry in enumerate(entries):
        where = f"index.json services[{position}]"
        if position >= MAX_SERVICES:
            problems.append(
                f"the index lists {len(entries)} services; only the first {MAX_SERVICES} are read"
            )
            break
        service_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(service_id, str):
            problems.append(f"{where} is not an entry with an `id`")
            continue
        if not SERVICE_ID.fullmatch(service_id):
            problems.append(f"{where} has the id {service_id[:64]!r}, which is not a service id")
            continue
        if service_id in seen:
            problems.append(f"{where}: the id {service_id!r} is listed twice (the first counts)")
            continue
        seen.add(service_id)
        if budget <= 0:
            items.append(
                CatalogItem(service_id, entry, None, "not read: the store's manifests are too big")
            )
            continue
        try:
            text, data = read_manifest(resolved, service_id, entry)
        except PicStoreError as exc:
            items.append(CatalogItem(service_id, entry, None, exc.message))
            continue
        budget -= len(text)
        items.append(CatalogItem(service_id, entry, data))
    return Catalog(source, tuple(items), tuple(problems), datetime.now(UTC))


async def load_catalog(store: str, allow_local: bool, git_timeout: float = GIT_TIMEOUT) -> Catalog:
    """The catalog of a store (a folder, or a git repository cloned for the reading)."""
    async with opened(store, allow_local, git_timeout) as root:
        return await asyncio.to_thread(read_catalog, root, mask_url(store))


class CatalogCache:
    """The catalogs of the last few stores read, each kept `seconds`; one read at a time per
    store (a second request waits for the first one's result)."""

    def __init__(self, seconds: float = CACHE_SECONDS, stores: int = CACHE_STORES) -> None:
        self.seconds = seconds
        self.stores = stores
        self._kept: OrderedDict[tuple[str, bool], tuple[float, Catalog]] = OrderedDict()
        self._locks: dict[tuple[str, bool], asyncio.Lock] = {}

    async def get(self, store: str, allow_local: bool, fresh: bool = False) -> Catalog:
        key = (store, allow_local)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kept = self._kept.get(key)
            if kept is not None and not fresh and time.monotonic() - kept[0] < self.seconds:
                return kept[1]
            catalog = await load_catalog(store, allow_local)
            self._kept[key] = (time.monotonic(), catalog)
            self._kept.move_to_end(key)
            while len(self._kept) > self.stores:
                old, _ = self._kept.popitem(last=False)
                self._locks.pop(old, None)
            return catalog
