"""Peers: list, add, remove, rotate a peer's credentials in one service, a peer's configs.

Everything goes over the bus to the accounts service (shared/peer_client.py): adding and
removing publish the same events `pic-store peers` does (the accounts service provisions
the peer's accounts after the answer, so a new peer shows in the list within moments), and
the configs come back sealed to a one-time key of this request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field

from services.gateway.deps import Deps
from shared.errors import PicStoreError
from shared.events.peers import PeerAction
from shared.http_guard import ErrorDetail
from shared.ids import PEER_NAME_PATTERN, SERVICE_ID_PATTERN
from shared.installed import services_bucket
from shared.peer_client import PeerRequestError, add_peer, ask_peer, remove_peer

QUERY_TIMEOUT = 20.0  # the accounts service answers at once; a rotation calls one container
PeerName = Annotated[
    str, Path(pattern=PEER_NAME_PATTERN, description="The peer's name (its username too)")
]
ServiceId = Annotated[str, Path(pattern=SERVICE_ID_PATTERN, description="A service's id")]
Configs = dict[str, dict[str, str]]


class Peer(BaseModel):
    name: str = Field(description="The peer's name, also its username in every service")


class NewPeer(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(
        pattern=PEER_NAME_PATTERN,
        description="1-32 lowercase letters, digits, '_' and '-': the peer's username in "
        "every service with accounts",
    )


class PeerConfigs(BaseModel):
    name: str
    configs: Configs = Field(
        description="Service id -> the peer's ready-to-use settings there (credentials "
        "included): each service's `peer_config_template` filled in"
    )


def _refusal(description: str) -> dict[str, Any]:
    return {"model": ErrorDetail, "description": description}


Responses = dict[int | str, dict[str, Any]]
UNKNOWN: Responses = {404: _refusal("No peer of that name")}
UNAVAILABLE: Responses = {
    504: _refusal("The accounts service did not answer in time (is it running?)")
}


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["peers"])

    def refused(exc: PeerRequestError) -> HTTPException:
        """504 when the accounts service did not answer, 502 with its reason when it refused."""
        if isinstance(exc.__cause__, TimeoutError):
            return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, exc.message)
        return HTTPException(status.HTTP_502_BAD_GATEWAY, exc.message)

    async def names() -> list[str]:
        try:
            found = await ask_peer(deps.bus, PeerAction.list, timeout=QUERY_TIMEOUT)
        except PeerRequestError as exc:
            raise refused(exc) from exc
        return [str(name) for name in found.get("peers", [])]

    async def known(name: str) -> None:
        if name not in await names():
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no peer {name!r}")

    async def ask(action: PeerAction, name: str, service: str | None = None) -> PeerConfigs:
        await known(name)
        try:
            configs = await ask_peer(deps.bus, action, name, service, timeout=QUERY_TIMEOUT)
        except PeerRequestError as exc:
            raise refused(exc) from exc
        return PeerConfigs(name=name, configs=configs)

    @api.get("/peers", response_model=list[Peer], responses={**UNAVAILABLE})
    async def list_peers() -> list[Peer]:
        """The cell's VPN peers, by name."""
        return [Peer(name=name) for name in await names()]

    @api.post(
        "/peers",
        response_model=Peer,
        status_code=status.HTTP_202_ACCEPTED,
        responses={409: _refusal("A peer of that name exists"), **UNAVAILABLE},
    )
    async def add(body: NewPeer) -> Peer:
        """Add a peer: it gets an account in every installed service that has accounts. The
        accounts service does it after this answer; the peer shows in `GET /peers` within
        moments, and its configs at `GET /peers/{name}/configs`."""
        if body.name in await names():
            raise HTTPException(status.HTTP_409_CONFLICT, f"the peer {body.name!r} exists")
        try:
            await add_peer(deps.bus, body.name)
        except PicStoreError as exc:
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, exc.message) from exc
        return Peer(name=body.name)

    @api.delete(
        "/peers/{name}",
        response_model=Peer,
        status_code=status.HTTP_202_ACCEPTED,
        responses={**UNKNOWN, **UNAVAILABLE},
    )
    async def remove(name: PeerName) -> Peer:
        """Remove a peer: its accounts go (the accounts service does it after this answer)."""
        await known(name)
        try:
            await remove_peer(deps.bus, name)
        except PicStoreError as exc:
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, exc.message) from exc
        return Peer(name=name)

    @api.post(
        "/peers/{name}/rotate/{service}",
        response_model=PeerConfigs,
        responses={
            404: _refusal("No peer of that name, or no installed service with accounts"),
            502: _refusal("The accounts service refused (its reason)"),
            **UNAVAILABLE,
        },
    )
    async def rotate(name: PeerName, service: ServiceId) -> PeerConfigs:
        """New credentials for the peer in one service; the answer is the peer's new configs
        of that service (credentials included: like every endpoint here, only with the API
        token)."""
        record = await (await services_bucket(deps.bus)).get(service)
        if record is None or record.value.manifest.get("has_accounts") is not True:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"{service} is not an installed service with accounts"
            )
        return await ask(PeerAction.rotate, name, service)

    @api.get(
        "/peers/{name}/configs",
        response_model=PeerConfigs,
        responses={
            **UNKNOWN,
            502: _refusal("The accounts service refused (its reason)"),
            **UNAVAILABLE,
        },
    )
    async def configs(name: PeerName) -> PeerConfigs:
        """The peer's ready-to-use configs, by service. They hold the peer's credentials
        (passwords): this endpoint, like every endpoint of the gateway but /healthz, answers
        only a request carrying the API token. They reach the gateway sealed to a one-time
        key of this request; show them to the peer, do not store them."""
        return await ask(PeerAction.config, name)

    return api
