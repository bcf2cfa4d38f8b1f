"""Issue #19, finding 5 (backup): a service's backup runs its commands and reads its volumes
only in the containers of its own compose project, never in a neighbour whose name merely
starts with its own (`cell-home` and `cell-home-assistant`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.client import StoreClient
from tests.backup.parts import backup, storage_manifest, storage_store
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_backup_hook_naming_a_neighbours_container_never_runs_there(
    stack_factory: Any, images: ImageSet, tmp_path: Path
) -> None:
    home = service_id()
    neighbour = f"{home}-assistant"  # its container cell-<home>-assistant starts with cell-<home>
    stack_factory.used_ids.extend([home, neighbour])
    stack = stack_factory(PIC_ROOT=str(tmp_path / "root"))
    stack.start_installer()
    stack.start("backup")
    bus = await stack.bus("admin")
    try:
        client = StoreClient(bus)
        other = storage_manifest(neighbour, images.web)
        mine = storage_manifest(home, images.web)
        mine["backup"]["before"] = {
            "container": f"cell-{neighbour}",
            "command": ["sh", "-c", "echo ran-by-a-neighbour > /tmp/pwned"],
        }
        # (A volume of the neighbour's container is refused when the template is rendered:
        # no service of the template has that container_name.)
        store = storage_store(tmp_path / "store", [other, mine])
        for sid in (neighbour, home):
            result = await install(client, store, sid)
            assert result.payload.status == "succeeded", result.payload.message

        refused = await backup(bus, home)
        assert not refused.payload.ok
        assert f"cell-{neighbour}" in refused.payload.message
        assert "not a container of" in refused.payload.message
        assert refused.payload.backups == []
        seen = docker("exec", f"cell-{neighbour}", "sh", "-c", "cat /tmp/pwned 2>&1 || true")
        assert "ran-by-a-neighbour" not in seen

    finally:
        await bus.close()
