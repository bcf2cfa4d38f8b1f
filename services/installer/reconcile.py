"""Compare the installer's state with what Docker really runs, correct it, report it.

- a container of ours whose service is not installed (and not being worked on): removed
- an installed service whose container stopped: started again
- an installed service whose container is gone: recreated from its docker-compose.yml
- an IP lease held by a service that is neither installed nor being worked on: released
"""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath

import yaml

from services.installer.containers import LABEL_OWNER, container_specs
from services.installer.context import Deps
from services.installer.runtime import create_and_start
from shared.errors import PicStoreError
from shared.events import ReconcileReport
from shared.events.channels import RECONCILED
from shared.events.messages import Correction, ServiceState

SETTLED = (ServiceState.installed, ServiceState.failed)


async def reconcile(deps: Deps) -> list[Correction]:
    corrections: list[Correction] = []
    services = {k: r.value for k, r in (await deps.buckets.services.items()).items()}
    busy = set(await deps.buckets.locks.keys())
    containers = await deps.engine.list_containers(LABEL_OWNER)
    by_service: dict[str, list[str]] = {}
    for info in containers:
        sid = info.labels.get(LABEL_OWNER, "")
        if sid in busy:
            continue
        record = services.get(sid)
        if record is None or record.state not in (ServiceState.installed,):
            await deps.engine.remove_container(info.name, stop_timeout=2)
            corrections.append(Correction(service_id=sid,
                                          what=f"removed orphan container {info.name}"))
            continue
        by_service.setdefault(sid, []).append(info.name)
        if not info.running and info.status != "restarting":
            await deps.engine.start(info.name)
            corrections.append(Correction(service_id=sid,
                                          what=f"started stopped container {info.name}"))
    for sid, record in services.items():
        if sid in busy or record.state != ServiceState.installed:
            continue
        missing = [n for n in record.containers if n not in by_service.get(sid, [])]
        if missing:
            corrections += await _recreate(deps, sid, record.compose_path, missing,
                                           record.last_operation or "reconcile")
    for address, lease in (await deps.pool.leases()).items():
        record = services.get(lease.service_id)
        if lease.service_id in busy:
            continue
        if record is None or (record.state != ServiceState.installed
                              and record.service_ip != address):
            await deps.pool.release(lease.service_id, address)
            corrections.append(Correction(service_id=lease.service_id,
                                          what=f"released leaked IP {address}"))
    if corrections:
        await deps.bus.publish(RECONCILED, ReconcileReport(
            operation_id="reconcile", payload={"corrections": corrections}))
    return corrections


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
