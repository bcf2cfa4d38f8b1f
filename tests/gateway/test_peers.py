"""Peers through the gateway (its real app, token and Host check) against a real accounts
service on the real bus: list, add, configs, rotate, remove, and the refusals a UI author
meets, each naming what is wrong. No container: the cell has no service with accounts, so a
peer's configs are empty (tests/accounts has them filled)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.gateway.conftest import Gateway, serve_gateway
from tests.parts.eventually import eventually
from tests.parts.stack import Stack

pytestmark = pytest.mark.integration


def start_bare(stack: Stack, service: str) -> None:
    """A service of the gateway's bare cell (no Docker network: nothing is installed)."""
    stack.start(
        service,
        PATH=os.environ["PATH"],
        PIC_NATS_URL=stack.nats_url,
        PIC_CELL=stack.cell,
        PIC_DATA_DIR=str(stack.data_dir),
    )


@pytest.fixture
async def peers_gateway(gateway_cell: Stack) -> AsyncIterator[Gateway]:
    try:
        start_bare(gateway_cell, "accounts")
        async with serve_gateway(gateway_cell) as served:
            yield served
    finally:
        for proc in gateway_cell.processes:
            proc.stop()


def names_field(response: httpx.Response, field: str) -> bool:
    """A 422 whose detail points at `field` (FastAPI's loc ends with it)."""
    return response.status_code == 422 and any(
        d["loc"][-1] == field for d in response.json()["detail"]
    )


async def test_a_peer_is_added_shown_rotated_and_removed(peers_gateway: Gateway) -> None:
    http = peers_gateway.http
    assert (await http.get("/peers")).json() == []
    added = await http.post("/peers", json={"name": "alice"})
    assert added.status_code == 202 and added.json() == {"name": "alice"}

    async def listed() -> bool:
        return bool((await http.get("/peers")).json() == [{"name": "alice"}])

    await eventually(listed, within=15, every=0.2, what="alice in GET /peers")
    again = await http.post("/peers", json={"name": "alice"})
    assert again.status_code == 409 and "alice" in again.json()["detail"]
    configs = await http.get("/peers/alice/configs")
    assert configs.status_code == 200 and configs.json() == {"name": "alice", "configs": {}}
    rotated = await http.post("/peers/alice/rotate/nosuch")
    assert rotated.status_code == 404, rotated.text
    assert "nosuch is not an installed service with accounts" in rotated.json()["detail"]

    # Refusals that name what is wrong, before anything reaches the bus.
    assert names_field(await http.post("/peers", json={"name": "../x"}), "name")
    assert names_field(await http.post("/peers", json={"name": 7}), "name")
    assert names_field(await http.post("/peers", json={"name": "bob", "admin": True}), "admin")
    assert names_field(await http.get("/peers/Bad..Name/configs"), "name")
    assert names_field(await http.post("/peers/alice/rotate/No.Such"), "service")
    missing = await http.get("/peers/bob/configs")
    assert missing.status_code == 404 and "bob" in missing.json()["detail"]
    assert (await http.delete("/peers/bob")).status_code == 404
    bare = await peers_gateway.anonymous.get("/peers/alice/configs")
    assert bare.status_code == 401, "the credentials only with the token"

    removed = await http.delete("/peers/alice")
    assert removed.status_code == 202

    async def gone() -> bool:
        return bool((await http.get("/peers")).json() == [])

    await eventually(gone, within=15, every=0.2, what="alice gone from GET /peers")
    document = (await http.get("/openapi.json")).json()
    described = document["paths"]["/peers/{name}/configs"]["get"]["description"]
    assert "token" in described and "credentials" in described
