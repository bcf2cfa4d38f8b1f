"""The htpasswd manager against a real container: bcrypt entries a WebDAV server could read,
written through the Docker engine; lines it did not write stay as they were."""

from __future__ import annotations

import bcrypt
import pytest

from shared.peer_client import add_peer, remove_peer
from tests.accounts.helpers import bus_client, configs, started
from tests.installer.helpers import install, remove
from tests.parts.docker_engine import docker
from tests.parts.eventually import eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FILE = "/data/htpasswd"


def entries(sid: str) -> dict[str, str]:
    text = docker("exec", f"cell-{sid}", "cat", FILE, check=False)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


async def test_htpasswd_entries_check_with_bcrypt_and_foreign_lines_stay(
    stack_factory, demo_image, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _stack, sid, store, bus = await started(
        stack_factory, demo_image, tmp_path, manager="htpasswd", file=FILE
    )
    await add_peer(bus, "erin")
    result = await install(bus_client(bus), store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    docker("exec", f"cell-{sid}", "sh", "-c", f"echo 'admin:$2y$10$notours' >> {FILE}")
    await add_peer(bus, "frank")

    async def both() -> bool:
        return {"erin", "frank", "admin"} <= set(entries(sid))

    await eventually(both, 10, what="erin and frank in the htpasswd file")
    for peer in ("erin", "frank"):
        password = (await configs(bus, peer))[sid]["password"]
        hashed = entries(sid)[peer]
        assert hashed.startswith("$2y$")
        assert bcrypt.checkpw(password.encode(), hashed.replace("$2y$", "$2b$", 1).encode())
        assert not bcrypt.checkpw(b"wrong", hashed.replace("$2y$", "$2b$", 1).encode())

    await remove_peer(bus, "erin")

    async def erin_gone() -> bool:
        return set(entries(sid)) == {"frank", "admin"}

    await eventually(erin_gone, 10, what="erin's entry goes, admin's stays")
    assert entries(sid)["admin"] == "$2y$10$notours"
    done = await remove(bus_client(bus), sid)
    assert done.payload.status == "succeeded", done.payload.message
    await bus.close()
