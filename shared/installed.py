"""The installed-services bucket: written by the installer, read by everyone else.

The router reconciles routes from it, the gateway and the CLI list it. Views mask the
values of `secret` settings, so nothing read from here can leak them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.bus import Bus, TypedBucket
from shared.events.messages import ConfigValue, ServiceState

SERVICES_BUCKET = "pic_services"
MASK = "********"


class ServiceRecord(BaseModel):
    service_id: str
    state: ServiceState
    version: str | None = None
    name: str = ""
    manifest: dict[str, Any] = Field(default_factory=dict)
    store: str = ""
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    service_ip: str | None = None
    # Container name -> its address on the cell network: only the main container has the
    # fixed service_ip, so the router needs these to reach the sidecars.
    addresses: dict[str, str] = Field(default_factory=dict)
    image: str | None = None
    egress: str | None = Field(
        default=None, description="The admin's egress choice (None: the manifest's default)"
    )
    pinned: dict[str, str] = Field(
        default_factory=dict, description="Image reference -> its verified digest form"
    )
    applied_steps: list[str] | None = Field(
        default=None, description="Participant steps the install did (None: not recorded)"
    )
    compose_path: str | None = None
    containers: list[str] = Field(default_factory=list)
    volumes: list[str] = Field(default_factory=list)
    last_error: str = ""
    # What the last operation could not do, e.g. a wanted capability no running service
    # carries out.
    warnings: list[str] = Field(default_factory=list)
    last_operation: str | None = None
    updated: float = Field(default_factory=time.time)


class ServiceView(BaseModel):
    service_id: str
    name: str
    state: str
    version: str | None
    service_ip: str | None
    image: str | None
    containers: list[str]
    volumes: list[str]
    config: dict[str, ConfigValue]
    last_error: str
    warnings: list[str] = Field(default_factory=list)
    last_operation: str | None
    updated: datetime = Field(description="When the record last changed (ISO 8601, UTC)")


def secret_keys(manifest: dict[str, Any]) -> set[str]:
    schema = manifest.get("config_schema") or []
    return {str(f.get("key")) for f in schema if isinstance(f, dict) and f.get("type") == "secret"}


def view(record: ServiceRecord) -> ServiceView:
    hidden = secret_keys(record.manifest)
    config = {k: (MASK if k in hidden else v) for k, v in record.config.items()}
    return ServiceView(
        service_id=record.service_id,
        name=record.name,
        state=record.state.value,
        version=record.version,
        service_ip=record.service_ip,
        image=record.image,
        containers=record.containers,
        volumes=record.volumes,
        config=config,
        last_error=record.last_error,
        warnings=record.warnings,
        last_operation=record.last_operation,
        updated=datetime.fromtimestamp(record.updated, UTC),
    )


async def services_bucket(bus: Bus) -> TypedBucket[ServiceRecord]:
    return await bus.bucket(SERVICES_BUCKET, ServiceRecord)
