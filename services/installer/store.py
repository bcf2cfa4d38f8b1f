"""Fetch one service (manifest + compose template) from a store: a folder or a git repository.

The reading itself lives in shared/store/ (the gateway reads the catalog with the same rules):
a store is untrusted input, its files are read only from inside its root, only as regular
files and only up to a size limit; local stores only when the cell config allows them, and
credentials in a store URL are never shown. This module is the installer's door to it.
"""

from __future__ import annotations

import structlog

from shared.store import fetch as shared_fetch
from shared.store.files import (
    INDEX_FILE,
    MANIFEST_FILE,
    MAX_FILE_BYTES,
    TEMPLATE_FILE,
    FetchedService,
    read_folder,
)
from shared.store.source import (
    ALLOW_LOCAL_HINT,
    GIT_TIMEOUT,
    StoreError,
    StoreKind,
    mask_url,
    store_kind,
)

log = structlog.get_logger("installer")

__all__ = [
    "ALLOW_LOCAL_HINT",
    "GIT_TIMEOUT",
    "INDEX_FILE",
    "MANIFEST_FILE",
    "MAX_FILE_BYTES",
    "TEMPLATE_FILE",
    "FetchedService",
    "StoreError",
    "StoreKind",
    "fetch_service",
    "mask_url",
    "read_folder",
    "store_kind",
]


async def fetch_service(store: str, service_id: str, allow_local: bool) -> FetchedService:
    """The service `service_id` of a store; local stores (folders, `file://`, local git
    paths) only when `allow_local` (the cell config's `allow_local_stores`)."""
    log.info("store_fetch", store=mask_url(store), service_id=service_id)
    # GIT_TIMEOUT read at each call: a test (or an operator's patch) may change it here.
    return await shared_fetch.fetch_service(store, service_id, allow_local, GIT_TIMEOUT)
