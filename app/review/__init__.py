"""Store review: what the store's maintainers check before merging a service.

review_service(service_dir, index, previous_manifest=None, options=...) -> list[Issue]
review_notes(service_dir, options=...) -> list[Issue] (shown, never refusing)
"""

from app.review.index import INDEX_FILE, IndexEntry, StoreIndex, parse_index
from app.review.install_script import INSTALL_SCRIPT, scan_script
from app.review.review import review_notes, review_service

__all__ = [
    "INDEX_FILE",
    "INSTALL_SCRIPT",
    "IndexEntry",
    "StoreIndex",
    "parse_index",
    "review_notes",
    "review_service",
    "scan_script",
]
