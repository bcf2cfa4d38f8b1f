"""The router's HTTP API: /healthz, /metrics and `GET /routes`."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException

from services.router.manager import RouterManager
from services.router.metrics import DISAGREEMENTS
from services.router.status import RoutesReport
from shared.errors import PicStoreError
from shared.service import Health, base_app


def build_api(health: Health, manager: RouterManager) -> FastAPI:
    app = base_app("router", health)

    @app.get("/routes", response_model=RoutesReport, tags=["routes"])
    async def routes() -> RoutesReport:
        """Every route and DNS record the router manages, and whether Caddy and DNS agree."""
        try:
            report = await manager.report()
        except PicStoreError as exc:
            raise HTTPException(status_code=503, detail=exc.message) from exc
        DISAGREEMENTS.set(sum(not row.agrees for row in report.routes))
        return report

    return app
