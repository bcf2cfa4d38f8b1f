"""Stores: where a service is installed from (a folder on this machine or a git repository
holding `index.json` and a folder per service), read as untrusted input by the installer (one
service to install) and the gateway (the catalog to browse).

    source.py    the kinds of store, which are allowed, masking credentials, the git clone
    files.py     reading the index, a service's folder, manifest and template, safely
    fetch.py     a store opened as a folder; one service fetched from it
    catalog.py   every service of a store's index with its manifest, and a cache of catalogs
"""

from shared.store.catalog import Catalog, CatalogCache, CatalogItem, load_catalog, read_catalog
from shared.store.fetch import fetch_service, opened
from shared.store.files import MAX_FILE_BYTES, FetchedService, read_folder
from shared.store.source import (
    ALLOW_LOCAL_HINT,
    GIT_TIMEOUT,
    StoreError,
    StoreKind,
    check_allowed,
    mask_url,
    store_kind,
)

__all__ = [
    "ALLOW_LOCAL_HINT",
    "GIT_TIMEOUT",
    "MAX_FILE_BYTES",
    "Catalog",
    "CatalogCache",
    "CatalogItem",
    "FetchedService",
    "StoreError",
    "StoreKind",
    "check_allowed",
    "fetch_service",
    "load_catalog",
    "mask_url",
    "opened",
    "read_catalog",
    "read_folder",
    "store_kind",
]
