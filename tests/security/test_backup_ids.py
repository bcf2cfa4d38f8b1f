"""Issue #19, finding 9 (backup paths): no id the backup service turns into a path can name
another place, even one that never came through the bus's message models.

The bus refuses such ids when a message is decoded (tests/security/test_ids.py); here the
backup service's own verbs are called with them directly, as a bug in decoding or a new
caller would: every one is refused with a clear reason and the data dir stays as it was
(a `VerifyCommand` with `operation_id=".."` used to delete the whole data dir).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.backup.deps import Deps
from services.backup.layout import Backups
from services.backup.manager import BackupManager
from services.backup.settings import BackupSettings
from shared.docker import DockerEngine
from shared.installed import services_bucket
from tests.parts.stack import Stack

# An absolute id is tried as a folder the test owns, never as "/" itself: these calls bypass
# the message models, and a regression in the layout must not be able to empty the host.
BAD_IDS = ["..", "", "x" * 200, "../..", "a/../b", ".partial"]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"")
        for p in sorted(root.rglob("*"))
        if not p.name.endswith(".log") and "nats" not in p.parts
    }


@pytest.mark.integration
async def test_a_backup_verb_with_a_path_for_an_id_is_refused_and_the_data_dir_stays(
    stack_factory: Any, tmp_path: Path
) -> None:
    stack: Stack = stack_factory()
    (stack.data_dir / "canary.txt").write_text("still here")
    outside = tmp_path / "outside"  # what an absolute id would name
    outside.mkdir()
    (outside / "canary.txt").write_text("still here")
    (stack.data_dir / "backups" / "20260101t000000000000z").mkdir(parents=True)
    (stack.data_dir / "backups" / "20260101t000000000000z" / "backup.json").write_text(
        json.dumps(
            {
                "format": 1,
                "backup_id": "20260101t000000000000z",
                "started": datetime.now(UTC).isoformat(),
                "sealed_with": "key",
            }
        )
    )
    before = _tree(stack.data_dir)
    settings = BackupSettings(data_dir=stack.data_dir, cell=stack.cell)
    bus = await stack.bus("admin")
    engine = DockerEngine()
    try:
        deps = Deps(
            bus,
            engine,
            await services_bucket(bus),
            settings,
            Backups(settings.backups_dir, settings.data_dir),
        )
        manager = BackupManager(deps)
        refusals = []
        for bad in [*BAD_IDS, str(outside), f"{outside}/x"]:
            refusals += [
                await manager.verify(bad, "20260101t000000000000z"),
                await manager.verify("op-good", bad),
                await manager.restore(bad, "20260101t000000000000z", None, True),
                await manager.restore("op-good", bad, None, True),
                await manager.restore("op-good", "20260101t000000000000z", bad, True),
                await manager.backup(bad, None, "admin"),
                await manager.backup("op-good", bad, "admin"),
            ]
            assert _tree(stack.data_dir) == before, f"the data dir changed with the id {bad!r}"
        for result in refusals:
            assert not result.ok
            assert result.error_key == "invalid_id", result.message
            assert "is not a valid" in result.message and "id" in result.message
    finally:
        await engine.close()
        await bus.close()
    assert (stack.data_dir / "canary.txt").read_text() == "still here"
    assert (outside / "canary.txt").read_text() == "still here"
