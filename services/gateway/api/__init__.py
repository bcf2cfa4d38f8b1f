"""The gateway's API areas: each names a module here with `router(deps) -> APIRouter`."""

from __future__ import annotations

AREAS: tuple[str, ...] = ("services", "operations", "events", "store", "peers", "backups", "routes")
