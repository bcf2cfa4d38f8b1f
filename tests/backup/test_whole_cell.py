"""Two services backed up together (one stopped for the copy, one between a `before` dump and
an `after` clean-up), verified, then restored onto a fresh cell (empty state; the backups
folder and the cell's backup key copied over): both come back with their data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shared.client import StoreClient
from tests.backup.parts import FILL, backup, restore, sh, storage_manifest, storage_store, tree
from tests.backup.parts import verify as verify_backup
from tests.installer.helpers import inspect, install, remove, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_whole_cell_onto_a_fresh_cell(
    stack_factory, images: ImageSet, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    stopped, dumped = service_id(), service_id()
    stack_factory.used_ids.extend([stopped, dumped])
    first = stack_factory(PIC_ROOT=str(tmp_path / "root"))
    first.start_installer()
    first.start("backup")
    bus = await first.bus("admin")
    client = StoreClient(bus)
    m_stopped = storage_manifest(stopped, images.web)
    m_stopped["backup"]["stop"] = True
    m_dumped = storage_manifest(dumped, images.web)
    m_dumped["backup"]["before"] = {
        "container": f"cell-{dumped}",
        "command": ["sh", "-c", "echo dump > /srv/files/dump.sql"],
    }
    m_dumped["backup"]["after"] = {
        "container": f"cell-{dumped}",
        "command": ["rm", "/srv/files/dump.sql"],
    }
    store = storage_store(tmp_path / "store", [m_stopped, m_dumped])
    for sid in (stopped, dumped):
        result = await install(client, store, sid)
        assert result.payload.status == "succeeded", result.payload.message
        sh(f"cell-{sid}", FILL)
    trees = {sid: tree(f"cell-{sid}") for sid in (stopped, dumped)}
    started = inspect(f"cell-{stopped}")["State"]["StartedAt"]  # type: ignore[index]

    made = await backup(bus, None)  # every service with storage
    assert made.payload.ok, made.payload.message
    (backup_id,) = made.payload.backups
    folder = first.data_dir / "backups" / backup_id
    recorded = json.loads((folder / "backup.json").read_text())
    assert {s["service_id"]: s["consistency"] for s in recorded["services"]} == {
        stopped: "stopped",
        dumped: "commands",
    }
    assert inspect(f"cell-{stopped}")["State"]["StartedAt"] != started  # type: ignore[index]
    assert tree(f"cell-{dumped}") == trees[dumped]  # the dump was cleaned up after
    checked = await verify_backup(bus, backup_id)
    assert checked.payload.ok, checked.payload.message

    for sid in (stopped, dumped):
        gone = await remove(client, sid, purge=True)
        assert gone.payload.status == "succeeded", gone.payload.message
    await bus.close()
    for proc in first.processes:
        proc.stop()
    docker("network", "rm", first.network)

    fresh = stack_factory(PIC_ROOT=str(tmp_path / "root"))
    shutil.copytree(first.data_dir / "backups", fresh.data_dir / "backups")
    (fresh.data_dir / "secrets").mkdir(exist_ok=True)
    shutil.copy(first.data_dir / "secrets" / "backup-key.txt", fresh.data_dir / "secrets")
    fresh.start_installer()
    fresh.start("backup")
    bus = await fresh.bus("admin")
    restored = await restore(bus, backup_id, None, timeout=300)
    assert restored.payload.ok, restored.payload.message
    client = StoreClient(bus)
    for sid in (stopped, dumped):
        view = await client.service(sid)
        assert view is not None and view.state == "installed"
    assert tree(f"cell-{stopped}") == trees[stopped]
    assert "F ./dump.sql" in tree(f"cell-{dumped}")  # the dump made for the copy came back
    sh(f"cell-{dumped}", "rm /srv/files/dump.sql")
    assert tree(f"cell-{dumped}") == trees[dumped]
    await bus.close()
