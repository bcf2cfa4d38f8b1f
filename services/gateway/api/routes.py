"""Routes: what the router holds in Caddy and DNS for the installed services, and whether
they agree, asked of the router over the bus (shared/routes_client.py)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from services.gateway.deps import Deps
from shared.events.routes import RoutesReport
from shared.http_guard import ErrorDetail
from shared.routes_client import RouterTimeoutError, RoutesUnavailableError, routes_report

QUERY_TIMEOUT = 20.0  # the router answers at once, or its parts' own timeouts say why not


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["routes"])

    @api.get(
        "/routes",
        response_model=RoutesReport,
        responses={
            502: {"model": ErrorDetail, "description": "The router could not make the report"},
            504: {"model": ErrorDetail, "description": "The router did not answer in time"},
        },
    )
    async def routes() -> RoutesReport:
        """Every Caddy route and DNS record the router manages, one row per host with its
        Caddy and DNS state, and `agree`: whether both hold what the installed services
        need. A part that does not answer shows as `caddy_error` / `dns_error`."""
        try:
            return await routes_report(deps.bus, QUERY_TIMEOUT)
        except RouterTimeoutError as exc:
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, exc.message) from exc
        except RoutesUnavailableError as exc:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, exc.message) from exc

    return api
