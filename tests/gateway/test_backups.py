"""Backups through the gateway (its real app, token and Host check) against a real backup
service on the real bus: the list, the schedule of the cell config, a run, verify and restore
answered with their reasons, and the refusals a UI author meets, each naming what is wrong.
Nothing is installed here (no container: cheap); backups with content go through the same
client in tests/backup/test_schedule.py."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.config import CellConfig
from tests.gateway.conftest import Gateway, serve_gateway
from tests.parts.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
async def backups_gateway(gateway_cell: Stack) -> AsyncIterator[Gateway]:
    config = CellConfig.load(gateway_cell.data_dir)
    config.backup.every_hours = 6
    config.backup.keep = 3
    config.write(gateway_cell.data_dir)
    try:
        gateway_cell.start(
            "backup",
            PATH=os.environ["PATH"],
            PIC_NATS_URL=gateway_cell.nats_url,
            PIC_CELL=gateway_cell.cell,
            PIC_DATA_DIR=str(gateway_cell.data_dir),
        )
        async with serve_gateway(gateway_cell) as served:
            yield served
    finally:
        for proc in gateway_cell.processes:
            proc.stop()


def names_field(response: httpx.Response, field: str) -> bool:
    """A 422 whose detail points at `field` (FastAPI's loc ends with it)."""
    return response.status_code == 422 and any(
        d["loc"][-1] == field for d in response.json()["detail"]
    )


async def test_backups_list_schedule_and_commands(backups_gateway: Gateway) -> None:
    http = backups_gateway.http
    listed = await http.get("/backups")
    assert listed.status_code == 200 and listed.json() == []
    assert (await http.get("/backups", params={"service": "notes"})).json() == []
    schedule = (await http.get("/backups/schedule")).json()
    assert schedule == {"every_hours": 6.0, "verify_scheduled": False, "keep": 3, "services": []}

    # A backup of a service that is not installed: the backup service's reason, waited for.
    run = await http.post("/backups/notes", params={"wait": 20})
    assert run.status_code == 202, run.text
    result = run.json()["result"]
    assert result["ok"] is False and result["action"] == "backup"
    assert "notes is not an installed service" in result["message"]
    # Without waiting: the operation id at once, the result later (a backup.result event).
    sent = await http.post("/backups/notes")
    assert sent.status_code == 202
    assert sent.json()["operation_id"].startswith("op-") and sent.json()["result"] is None

    # Verify and restore name a backup holding the service: none does.
    for action in ("verify", "restore"):
        body = {"replace": False} if action == "restore" else None
        missing = await http.post(f"/backups/notes/20261203t120000000000z/{action}", json=body)
        assert missing.status_code == 404 and "holds the service 'notes'" in missing.text

    # Refusals that name what is wrong, before anything reaches the bus (an id is never a
    # path: the backup id's grammar has no dot).
    assert names_field(await http.get("/backups", params={"service": "../x"}), "service")
    assert names_field(await http.post("/backups/notes/a.b/verify"), "backup_id")
    assert names_field(await http.post("/backups/No.tes"), "service")
    assert names_field(await http.post("/backups/notes", params={"wait": -1}), "wait")
    restore = "/backups/notes/20261203t120000000000z/restore"
    assert names_field(await http.post(restore, json={"replace": "yes"}), "replace")
    assert names_field(await http.post(restore, json={"replace": True, "force": 1}), "force")
    assert (await backups_gateway.anonymous.get("/backups")).status_code == 401

    # The schedule is the cell config's: an admin's change shows at once.
    config = CellConfig.load(backups_gateway.stack.data_dir)
    config.backup.every_hours = 0
    config.write(backups_gateway.stack.data_dir)
    assert (await http.get("/backups/schedule")).json()["every_hours"] == 0
    document = (await http.get("/openapi.json")).json()
    summary = document["components"]["schemas"]["BackupSummary"]["properties"]
    assert summary["started"]["format"] == "date-time", "times are ISO 8601"
