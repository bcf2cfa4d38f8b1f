"""The backup service's HTTP API (behind the bearer token of shared/http_guard.py):
`GET /backups`, `POST /backups`, `POST /backups/{id}/verify`, `POST /backups/{id}/restore`,
and /healthz, /metrics. Each call runs through the manager, like the bus commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Path
from pydantic import BaseModel, Field

from services.backup.description import BackupManifest
from services.backup.manager import BackupManager
from shared.events import new_operation_id
from shared.events.backups import BackupResultPayload
from shared.ids import BACKUP_ID_PATTERN, SERVICE_ID_PATTERN
from shared.service import Health, base_app

BackupId = Annotated[str, Path(pattern=BACKUP_ID_PATTERN)]


class BackupSummary(BaseModel):
    backup_id: str
    reason: str
    started: datetime
    finished: datetime | None
    services: dict[str, str | None] = Field(description="service id -> version")
    size: int = Field(description="bytes on disk")
    consistency: dict[str, str]
    verified: bool | None = None
    verify_reason: str = ""


class BackupRequest(BaseModel):
    service_id: str | None = Field(default=None, pattern=SERVICE_ID_PATTERN)


class RestoreRequest(BaseModel):
    service_id: str | None = Field(default=None, pattern=SERVICE_ID_PATTERN)
    replace: bool = False


def summary(manifest: BackupManifest) -> BackupSummary:
    return BackupSummary(
        backup_id=manifest.backup_id,
        reason=manifest.reason,
        started=manifest.started,
        finished=manifest.finished,
        services={e.service_id: e.version for e in manifest.services},
        size=sum(f.size for f in manifest.files),
        consistency={e.service_id: e.consistency for e in manifest.services},
        verified=manifest.verified.ok if manifest.verified else None,
        verify_reason=manifest.verified.reason if manifest.verified else "",
    )


def build_api(health: Health, manager: BackupManager) -> FastAPI:
    app = base_app("backup", health)

    @app.get("/backups", response_model=list[BackupSummary], tags=["backups"])
    async def list_backups() -> list[BackupSummary]:
        """Every complete backup, oldest first."""
        return [summary(m) for m in manager.deps.backups.all()]

    @app.post("/backups", response_model=BackupResultPayload, tags=["backups"])
    async def back_up(body: BackupRequest) -> BackupResultPayload:
        """Back up one service, or every service with storage."""
        return await manager.backup(new_operation_id(), body.service_id, "admin")

    @app.post("/backups/{backup_id}/verify", response_model=BackupResultPayload, tags=["backups"])
    async def verify(backup_id: BackupId) -> BackupResultPayload:
        """Restore into a sandbox and compare with the checksums; the result is kept."""
        return await manager.verify(new_operation_id(), backup_id)

    @app.post("/backups/{backup_id}/restore", response_model=BackupResultPayload, tags=["backups"])
    async def restore(backup_id: BackupId, body: RestoreRequest) -> BackupResultPayload:
        """Restore one service (or all) of the backup; over an installed one only with
        replace."""
        return await manager.restore(new_operation_id(), backup_id, body.service_id, body.replace)

    return app
