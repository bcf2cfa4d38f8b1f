"""The schedule of the cell config: backups every few seconds, each verified, only `keep` of
them kept; seen through the backup service's HTTP API and metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.embedded.api_token import api_token_path
from shared.client import StoreClient
from shared.config import CellConfig
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
    token = api_token_path(stack.data_dir).read_text().strip()

    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as http:
        assert (await http.get("/backups")).status_code == 401
        http.headers["Authorization"] = f"Bearer {token}"

        async def three_verified() -> bool:
            metrics = (await http.get("/metrics")).text
            return runs(metrics, "verify") >= 3

        await eventually(three_verified, within=90, every=0.5, what="three verified backups")
        config = CellConfig.load(stack.data_dir)  # read fresh: the schedule stops
        config.backup.every_hours = 0
        config.write(stack.data_dir)

        async def two_kept() -> bool:  # keep: 2, once the backup under way (if any) is done
            listed = (await http.get("/backups")).json()
            return len(listed) == 2 and all(b["verified"] is True for b in listed)

        await eventually(two_kept, within=30, every=0.5, what="two verified backups kept")
        listed = (await http.get("/backups")).json()
        assert all(b["reason"] == "schedule" and b["services"] == {sid: "1.0.0"} for b in listed)
        metrics = (await http.get("/metrics")).text
        assert f'pic_backup_last_good_age_seconds{{service="{sid}"}}' in metrics
        again = (await http.post(f"/backups/{listed[-1]['backup_id']}/verify")).json()
        assert again["ok"] is True and again["action"] == "verify"
        missing = (await http.post("/backups/nope/restore", json={})).json()
        assert missing["ok"] is False and missing["error_key"] == "backup_not_found"
        for bad in ("..", "a.b", "%2e%2e%2fsecrets", "x" * 200):  # an id is never a path
            refused = await http.post(f"/backups/{bad}/verify")
            assert refused.status_code in (404, 422), (bad, refused.text)
        refused = await http.post("/backups/nope/restore", json={"service_id": "../x"})
        assert refused.status_code == 422 and "service_id" in refused.text
