"""The gateway's FastAPI app: every area's router on one app (the token and the Host check
are put in front of it by shared/service.py's serve, as for every guarded service)."""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.gateway.api import AREAS
from services.gateway.deps import Deps
from shared.service import Health, base_app

DESCRIPTION = (
    "The one HTTP API of a pic-store cell: what a web UI needs to browse the store, install, "
    "reconfigure and remove services and follow them live, and to manage peers, backups and "
    "routes. Every request but /healthz carries `Authorization: Bearer <token>`; see "
    "docs/gateway.md."
)


STATIC = Path(__file__).resolve().parent / "static"


def build_app(deps: Deps, health: Health) -> FastAPI:
    app = base_app("gateway", health)
    app.description = DESCRIPTION
    for area in AREAS:
        module = importlib.import_module(f"services.gateway.api.{area}")
        app.include_router(module.router(deps))

    # The reference admin page: static files, no token needed to load them (they hold none).
    @app.get("/", include_in_schema=False)
    async def page() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui", StaticFiles(directory=STATIC, html=True), name="ui")
    return app
