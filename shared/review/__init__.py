"""Store review: what the store's maintainers check before merging a service.

review_service(service_dir, index, previous_manifest=None, options=...) -> list[Issue]
"""

from shared.review.index import INDEX_FILE, IndexEntry, StoreIndex, parse_index
from shared.review.install_script import INSTALL_SCRIPT, scan_script
from shared.review.review import review_service

__all__ = [
    "INDEX_FILE",
    "INSTALL_SCRIPT",
    "IndexEntry",
    "StoreIndex",
    "parse_index",
    "review_service",
    "scan_script",
]
