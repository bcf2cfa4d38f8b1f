"""Issue #19, finding 6: a container's account API answers pic-store alone. Every call
carries the service's own secret (`Authorization: Bearer ...`); a neighbour on the cell
network without it gets 401 and changes nothing."""

from __future__ import annotations

import json

import pytest

from shared.peer_client import add_peer
from tests.accounts.helpers import (
    address,
    build_demo,
    bus_client,
    configs,
    logs_in,
    raw_request,
    started,
    usernames,
)
from tests.installer.helpers import install

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def demo_image(registry_host: str) -> str:
    return build_demo(registry_host)


async def test_a_neighbour_without_the_secret_cannot_create_or_delete_accounts(
    stack_factory, demo_image, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    stack, sid, store, bus = await started(stack_factory, demo_image, tmp_path)
    await add_peer(bus, "alice")
    result = await install(bus_client(bus), store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    api = f"http://{address(stack, sid)}:8080/service-api/accounts"
    body = json.dumps({"username": "mallory", "password": "letmein-123"})
    for headers in ((), ("Authorization: Bearer not-the-secret",)):
        assert raw_request(stack, api, "POST", body, *headers) == 401
        assert raw_request(stack, f"{api}/alice", "DELETE", "", *headers) == 401
        assert raw_request(stack, api, "GET", "", *headers) == 401
    # Nothing was made or deleted; pic-store's own calls still work.
    assert usernames(stack, sid) == ["alice"]
    assert logs_in(stack, sid, (await configs(bus, "alice"))[sid])
    await bus.close()
