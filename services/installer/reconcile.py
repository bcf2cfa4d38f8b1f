"""Compare the installer's state with what Docker really runs, correct it, report it.

- a container of ours whose service is not installed (and not being worked on): removed
- an installed service whose container stopped or is gone: `docker compose up` of its
  docker-compose.yml starts or recreates it (and the addresses the router uses are updated)
- an IP lease held by a service that is neither installed nor being worked on: released
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from services.installer.context import Deps
from services.installer.host_folders import prepare_for_file
from services.installer.operations import Operations
from services.installer.project import LABEL_OWNER
from shared.bus import Retry
from shared.docker.compose import ComposeProject
from shared.errors import PicStoreError
from shared.events import ReconcileReport
from shared.events.channels import RECONCILED
from shared.events.messages import Correction, ReconcilePayload, ServiceState
from shared.installed import ServiceRecord


async def reconcile(deps: Deps, ops: Operations) -> list[Correction]:
    """Correct each service under its own lock, so no running operation is disturbed."""
    services = await deps.buckets.services.keys()
    containers = await deps.engine.list_containers(LABEL_OWNER)
    leases = await deps.pool.leases()
    candidates = set(services) | {c.labels.get(LABEL_OWNER, "") for c in containers}
    candidates |= {lease.service_id for lease in leases.values()}
    corrections: list[Correction] = []
    for sid in sorted(candidates - {""}):
        operation_id = f"reconcile-{uuid.uuid4().hex[:12]}"
        try:
            await ops.acquire(sid, operation_id)
        except Retry:
            continue  # an operation is working on it: it is not ours to correct now
        async with ops.holding(sid, operation_id):
            corrections += await _reconcile_one(deps, sid)
    if corrections:
        await deps.bus.publish(
            RECONCILED,
            ReconcileReport(
                operation_id="reconcile", payload=ReconcilePayload(corrections=corrections)
            ),
        )
    return corrections


async def _reconcile_one(deps: Deps, sid: str) -> list[Correction]:
    found = await deps.buckets.services.get(sid)
    record = found.value if found else None
    installed = record is not None and record.state == ServiceState.installed
    out: list[Correction] = []
    present = await deps.engine.list_containers(f"{LABEL_OWNER}={sid}")
    for info in present if not installed else []:
        await deps.engine.remove_container(info.name, stop_timeout=2)
        out.append(Correction(service_id=sid, what=f"removed orphan container {info.name}"))
    if record is not None and installed:
        running = {info.name for info in present if info.running or info.status == "restarting"}
        missing = [name for name in record.containers if name not in running]
        if missing:
            out += await _compose_up(deps, record, missing)
    held = await deps.pool.held_by(sid)
    if held is not None and not installed:
        await deps.pool.release(sid, held)
        out.append(Correction(service_id=sid, what=f"released leaked IP {held}"))
    return out


async def _compose_up(deps: Deps, record: ServiceRecord, missing: list[str]) -> list[Correction]:
    sid = record.service_id
    if not record.compose_path or not await asyncio.to_thread(Path(record.compose_path).exists):
        return [Correction(service_id=sid, what="containers missing and no compose file")]
    s = deps.settings
    try:
        await deps.engine.ensure_network(
            s.network, s.subnet, s.dynamic_range, {"ngo.pic.store.network": "cell"}
        )
        compose_file = Path(record.compose_path)
        await asyncio.to_thread(prepare_for_file, s.store_data_dir, sid, compose_file)
        await ComposeProject(sid, compose_file, s.own_dir(sid)).up(remove_orphans=True)
    except PicStoreError as exc:
        return [
            Correction(service_id=sid, what=f"could not start {', '.join(missing)}: {exc.message}")
        ]
    await _refresh_addresses(deps, record)
    return [
        Correction(service_id=sid, what=f"started {name} again (docker compose up)")
        for name in missing
    ]


async def _refresh_addresses(deps: Deps, record: ServiceRecord) -> None:
    """A recreated sidecar may have a new address; the router routes by what is stored."""
    network = deps.settings.network
    found = await deps.engine.list_containers(f"{LABEL_OWNER}={record.service_id}")
    addresses = {i.name: i.ip_addresses[network] for i in found if i.ip_addresses.get(network)}
    if addresses != record.addresses:
        await deps.buckets.services.put(
            record.service_id, record.model_copy(update={"addresses": addresses})
        )
