"""Compare the installer's state with what Docker really runs, correct it, report it.

- a container of ours whose service is not installed (and not being worked on): removed
- an installed service whose container stopped: started again
- an installed service whose container is gone: recreated from its docker-compose.yml
- an IP lease held by a service that is neither installed nor being worked on: released
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path, PurePosixPath

import yaml

from services.installer.containers import LABEL_OWNER, container_specs
from services.installer.context import Deps
from services.installer.operations import Operations
from services.installer.runtime import create_and_start
from shared.bus import Retry
from shared.errors import PicStoreError
from shared.events import ReconcileReport
from shared.events.channels import RECONCILED
from shared.events.messages import Correction, ServiceState


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
        await deps.bus.publish(RECONCILED, ReconcileReport(
            operation_id="reconcile", payload={"corrections": corrections}))
    return corrections


async def _reconcile_one(deps: Deps, sid: str) -> list[Correction]:
    found = await deps.buckets.services.get(sid)
    record = found.value if found else None
    installed = record is not None and record.state == ServiceState.installed
    out: list[Correction] = []
    present = []
    for info in await deps.engine.list_containers(f"{LABEL_OWNER}={sid}"):
        if not installed:
            await deps.engine.remove_container(info.name, stop_timeout=2)
            out.append(Correction(service_id=sid, what=f"removed orphan container {info.name}"))
            continue
        present.append(info.name)
        if not info.running and info.status != "restarting":
            await deps.engine.start(info.name)
            out.append(Correction(service_id=sid, what=f"started stopped container {info.name}"))
    if record is not None and installed:
        missing = [n for n in record.containers if n not in present]
        if missing:
            out += await _recreate(deps, sid, record.compose_path, missing,
                                   record.last_operation or "reconcile")
    held = await deps.pool.held_by(sid)
    if held is not None and not installed:
        await deps.pool.release(sid, held)
        out.append(Correction(service_id=sid, what=f"released leaked IP {held}"))
    return out


async def _recreate(deps: Deps, service_id: str, compose_path: str | None,
                    missing: list[str], operation_id: str) -> list[Correction]:
    if not compose_path:
        return [Correction(service_id=service_id, what="containers missing and no compose file")]
    try:
        text = await asyncio.to_thread(Path(compose_path).read_text)
        document = yaml.safe_load(text)
        specs = container_specs(document, service_id, deps.settings.network,
                                PurePosixPath(compose_path).parent, operation_id)
    except (OSError, yaml.YAMLError, PicStoreError) as exc:
        return [Correction(service_id=service_id,
                           what=f"containers missing; could not read {compose_path}: {exc}")]
    out = []
    s = deps.settings
    await deps.engine.ensure_network(s.network, s.subnet, s.dynamic_range,
                                     {"ngo.pic.store.network": "cell"})
    for spec in specs:
        if spec.name in missing:
            await create_and_start(deps.engine, spec)
            out.append(Correction(service_id=service_id,
                                  what=f"recreated missing container {spec.name}"))
    return out
