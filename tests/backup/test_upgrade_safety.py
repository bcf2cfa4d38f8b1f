"""An upgrade to a version that never becomes healthy (and wrecks the data on its way) rolls
back to the old version with its data, from the backup taken before the upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.client import StoreClient
from tests.backup.parts import FILL, sh, storage_manifest, storage_store, template, tree
from tests.installer.helpers import inspect, install, service_id
from tests.parts.image_set import ImageSet
from tests.parts.store import write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Version 2 "migrates" the data (deletes it), and its healthcheck always fails.
WRECK = (
    '    command: ["sh", "-c", "rm -rf /srv/files/*; echo v2 > /srv/files/migrated; sleep 3600"]\n'
)


async def test_failed_upgrade_comes_back_with_its_data(
    stack_factory, images: ImageSet, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sid = service_id()
    stack_factory.used_ids.append(sid)
    stack = stack_factory(PIC_ROOT=str(tmp_path / "root"), PIC_HEALTH_TIMEOUT="6")
    stack.start_installer()
    stack.start("backup")
    bus = await stack.bus("admin")
    client = StoreClient(bus)
    v1 = storage_manifest(sid, images.web)
    result = await install(client, storage_store(tmp_path / "v1", [v1]), sid)
    assert result.payload.status == "succeeded", result.payload.message
    container = f"cell-{sid}"
    sh(container, FILL)
    before = tree(container)

    v2 = storage_manifest(sid, images.unhealthy, version="2.0.0")
    store2 = write_store(tmp_path / "v2", [(v2, template(v2) + WRECK)])
    result = await install(client, store2, sid)
    assert result.payload.status == "failed"
    message = result.payload.message
    assert "health" in message
    assert "1.0.0 runs again with its data from backup" in message, message

    view = await client.service(sid)
    assert view is not None and view.version == "1.0.0" and view.state == "installed"
    info = inspect(container)
    assert info is not None and info["State"]["Running"]
    assert info["Config"]["Image"] == images.web
    assert tree(container) == before
    backups = [p.name for p in (stack.data_dir / "backups").iterdir()]
    assert len(backups) == 1 and backups[0] in message
    await bus.close()
