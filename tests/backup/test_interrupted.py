"""A backup killed half-way leaves nothing that looks like a backup; the command, delivered
again to the restarted service, makes a good one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.events import Message, new_operation_id
from shared.events.backups import BackupCommand, BackupResult
from shared.events.channels import BACKUP, BACKUP_RESULT
from tests.backup.parts import sh, storage_cell
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_killed_mid_backup_leaves_nothing_good_looking(
    stack_factory, images: ImageSet, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    made = await storage_cell(stack_factory, images, tmp_path)
    stack, sid, bus, service = made.stack, made.sid, made.bus, made.backup
    # Incompressible data: the archive grows for a few seconds.
    sh(f"cell-{sid}", "dd if=/dev/urandom of=/srv/files/blob bs=1M count=150 2>/dev/null")
    backups = stack.data_dir / "backups"

    command = BackupCommand(operation_id=new_operation_id(), service_id=sid)
    await bus.publish(BACKUP, command)

    async def writing() -> bool:
        partial = [p for p in backups.glob("*.partial") if any(p.rglob("*.tar.gz"))]
        return bool(partial) and any(f.stat().st_size > 1024**2 for f in partial[0].rglob("*.gz"))

    await eventually(writing, within=60, what="the backup writing its archive")
    service.kill()
    await asyncio.sleep(0.2)
    complete = [p for p in backups.iterdir() if not p.name.endswith(".partial")]
    assert complete == []  # what is left is named .partial, and has no manifest
    assert all(not (p / "backup.json").exists() for p in backups.iterdir())

    results: list[BackupResult] = []

    async def on_result(message: Message) -> None:
        if isinstance(message, BackupResult) and message.operation_id == command.operation_id:
            results.append(message)

    async with bus.watch(BACKUP_RESULT, on_result):
        stack.start("backup")  # sweeps the partial folder; the command comes again

        async def answered() -> bool:
            return bool(results)

        await eventually(answered, within=120, what="the interrupted command done again")
    assert results[0].payload.ok, results[0].payload.message
    names = sorted(p.name for p in backups.iterdir())
    assert names == results[0].payload.backups  # one backup, complete; nothing partial
    await bus.close()
