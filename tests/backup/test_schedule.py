"""The schedule of the cell config: backups every few seconds, each verified, only `keep` of
them kept; seen through the backup service's list and schedule on the bus, and its metrics
(its HTTP API is /healthz and /metrics only)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.backup_client import backup_schedule, list_backups, run_backup_command
from shared.client import StoreClient
from shared.config import CellConfig
from shared.events import new_operation_id
from shared.events.backups import RestoreCommand, RestorePayload, VerifyCommand, VerifyPayload
from tests.backup.parts import storage_manifest, storage_store
from tests.installer.helpers import install, service_id
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def runs(metrics: str, action: str) -> float:
    prefix = f'pic_backup_runs_total{{action="{action}",result="ok"}} '
    return sum(
        float(line[len(prefix) :]) for line in metrics.splitlines() if line.startswith(prefix)
    )


async def test_scheduled_backups_are_verified_and_pruned(
    stack_factory, images: ImageSet, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    sid = service_id()
    stack_factory.used_ids.append(sid)
    stack = stack_factory(
        cell_config={"backup": {"every_hours": 1 / 3600, "keep": 2, "verify_scheduled": True}},
        PIC_ROOT=str(tmp_path / "root"),
        PIC_BACKUP_SCHEDULE_CHECK="0.5",
    )
    stack.start_installer()
    bus = await stack.bus("admin")
    store = storage_store(tmp_path / "store", [storage_manifest(sid, images.web)])
    result = await install(StoreClient(bus), store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    await bus.close()
    service = stack.start("backup")
    url = f"http://127.0.0.1:{service.port}"
    bus = await stack.bus("admin")

    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as http:
        assert (await http.get("/backups")).status_code == 404, "the list is on the bus only"

        async def three_verified() -> bool:
            metrics = (await http.get("/metrics")).text
            return runs(metrics, "verify") >= 3

        await eventually(three_verified, within=90, every=0.5, what="three verified backups")
        planned = await backup_schedule(bus)
        assert (planned.every_hours, planned.keep, planned.verify_scheduled) == (1 / 3600, 2, True)
        (row,) = [r for r in planned.services if r.service_id == sid]
        assert row.last_good is not None and row.next_due is not None
        assert abs(row.next_due - row.last_good - timedelta(seconds=1)) < timedelta(milliseconds=1)
        config = CellConfig.load(stack.data_dir)  # read fresh: the schedule stops
        config.backup.every_hours = 0
        config.write(stack.data_dir)

        async def two_kept() -> bool:  # keep: 2, once the backup under way (if any) is done
            listed = await list_backups(bus)
            return len(listed) == 2 and all(b.verified is True for b in listed)

        await eventually(two_kept, within=30, every=0.5, what="two verified backups kept")
        listed = await list_backups(bus, sid)
        assert all(b.reason == "schedule" and b.services == {sid: "1.0.0"} for b in listed)
        assert all(b.verified_at is not None and b.finished is not None for b in listed)
        assert await list_backups(bus, "nothing-here") == []
        stopped = await backup_schedule(bus)
        assert stopped.every_hours == 0 and all(r.next_due is None for r in stopped.services)
        metrics = (await http.get("/metrics")).text
        assert f'pic_backup_last_good_age_seconds{{service="{sid}"}}' in metrics
        verify = VerifyCommand(
            operation_id=new_operation_id(), payload=VerifyPayload(backup=listed[-1].backup_id)
        )
        again = (await run_backup_command(bus, verify, 60)).payload
        assert again.ok is True and again.action == "verify"
        restore = RestoreCommand(
            operation_id=new_operation_id(), payload=RestorePayload(backup="nope")
        )
        missing = (await run_backup_command(bus, restore, 30)).payload
        assert missing.ok is False and missing.error_key == "backup_not_found"
    await bus.close()
