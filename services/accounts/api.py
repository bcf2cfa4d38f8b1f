"""The accounts service's HTTP API (behind the API token): the peers, and a peer's configs
for the web UI's "Use your services" page."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Path

from services.accounts.configs import Configs, configs_of
from services.accounts.errors import UnknownPeerError
from services.accounts.manager import AccountsManager
from shared.errors import PicStoreError
from shared.events.peers import PEER_NAME_PATTERN
from shared.http_guard import ErrorDetail
from shared.service import Health, base_app


def build_api(health: Health, manager: AccountsManager) -> FastAPI:
    app = base_app("accounts", health)

    @app.get("/peers", response_model=list[str], tags=["peers"])
    async def peers() -> list[str]:
        """The current VPN peers."""
        return await manager.state.present_peers()

    @app.get(
        "/peers/{peer}/config",
        response_model=dict[str, dict[str, str]],
        tags=["peers"],
        responses={404: {"model": ErrorDetail}, 503: {"model": ErrorDetail}},
    )
    async def peer_config(
        peer: str = Path(pattern=PEER_NAME_PATTERN, description="The peer's name"),
    ) -> Configs:
        """The peer's configs, by service: each `peer_config_template` filled in."""
        try:
            return await configs_of(manager, peer)
        except UnknownPeerError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from exc
        except PicStoreError as exc:
            raise HTTPException(status_code=503, detail=exc.message) from exc

    return app
