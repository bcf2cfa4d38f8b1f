"""Issue #19, finding 3b: one service's backup that hangs or never ends does not hold up
anyone else's. Each command and stream of a backup has a time limit and a size cap from the
cell config; the service that breaks them fails with the reason, and the other services'
backups (the one in the same run, and a pre-upgrade backup asked meanwhile) complete."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from shared.backup_client import run_backup_command
from shared.client import StoreClient
from shared.events import new_operation_id
from shared.events.backups import BackupCommand, BackupPayload
from tests.backup.parts import backup, sh, storage_manifest, storage_store
from tests.installer.helpers import install, service_id
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT = 8


async def test_a_hanging_or_endless_backup_fails_alone_and_others_complete(
    stack_factory: Any, images: ImageSet, tmp_path: Path
) -> None:
    base = service_id()
    slow, fine = f"{base}a", f"{base}b"
    stack_factory.used_ids.extend([slow, fine])
    stack = stack_factory(
        cell_config={"backup": {"stream_timeout_seconds": TIMEOUT, "stream_max_bytes": 2**20}},
        PIC_ROOT=str(tmp_path / "root"),
    )
    stack.start_installer()
    stack.start("backup")
    bus = await stack.bus("admin")
    try:
        client = StoreClient(bus)
        hanging = storage_manifest(slow, images.web)
        hanging["backup"]["before"] = {"container": f"cell-{slow}", "command": ["sleep", "3600"]}
        store = storage_store(tmp_path / "store", [hanging, storage_manifest(fine, images.web)])
        for sid in (slow, fine):
            result = await install(client, store, sid)
            assert result.payload.status == "succeeded", result.payload.message

        started = time.monotonic()
        everything = asyncio.create_task(backup(bus, None, timeout=TIMEOUT * 4))
        await asyncio.sleep(1)
        # The installer's request before an upgrade, while the other service hangs.
        upgrade = BackupCommand(
            operation_id=new_operation_id(),
            service_id=fine,
            payload=BackupPayload(reason="upgrade"),
        )
        alone = await run_backup_command(bus, upgrade, TIMEOUT - 2)
        assert alone.payload.ok, alone.payload.message
        assert not everything.done()  # the hanging one is still waiting for its limit

        both = await everything
        took = time.monotonic() - started
        assert not both.payload.ok
        assert slow in both.payload.message and f"{TIMEOUT} s" in both.payload.message
        assert f"{fine}" in both.payload.message and len(both.payload.backups) == 1
        assert took < TIMEOUT + 15, took

        # A stream larger than the cap stops at the cap: the service fails, nothing is kept.
        sh(f"cell-{fine}", "head -c 3000000 /dev/urandom > /srv/files/big.bin")
        capped = await backup(bus, fine, timeout=TIMEOUT * 3)
        assert not capped.payload.ok
        assert "1 MiB" in capped.payload.message and fine in capped.payload.message
        assert capped.payload.backups == []
        assert not list((stack.data_dir / "backups").glob("*.partial"))
    finally:
        await bus.close()
