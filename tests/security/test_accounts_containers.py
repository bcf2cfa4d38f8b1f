"""Issue #19, finding 5 (accounts): a service's account manager works only in the service's
own containers. `cell-<a>` may not name `cell-<a>-assistant`, the container of another
service whose name merely begins the same way."""

from __future__ import annotations

import pytest

from shared.peer_client import add_peer
from tests.accounts.helpers import build_demo, bus_client, demo_service, started_with, usernames
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def demo_image(registry_host: str) -> str:
    return build_demo(registry_host)


async def test_a_service_cannot_write_accounts_into_another_services_container(
    stack_factory, demo_image, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    home = service_id()
    assistant = f"{home}-assistant"  # its container: cell-<home>-assistant
    squatter = demo_service(
        home, demo_image, manager="htpasswd", file="/data/htpasswd", container=f"cell-{assistant}"
    )
    stack, store, bus = await started_with(
        stack_factory, tmp_path, [demo_service(assistant, demo_image), squatter]
    )
    await add_peer(bus, "alice")
    result = await install(bus_client(bus), store, assistant)
    assert result.payload.status == "succeeded", result.payload.message

    result = await install(bus_client(bus), store, home)
    assert result.payload.status == "failed"
    assert f"cell-{assistant}" in result.payload.message
    assert f"not a container of {home}" in result.payload.message
    written = docker("exec", f"cell-{assistant}", "ls", "-a", "/data", check=False)
    assert "htpasswd" not in written, "the other service's container got an htpasswd file"
    assert usernames(stack, assistant) == ["alice"]
    await bus.close()
