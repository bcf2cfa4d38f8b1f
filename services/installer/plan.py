"""What an operation would do, computed without changing anything."""

from __future__ import annotations

from services.installer.context import Deploying, OpContext
from services.installer.egress import CHOICE
from services.installer.runtime import project_containers
from services.installer.saga import Step
from shared.contract.declare import PlanFacts
from shared.contract.registry import after_health
from shared.events import Plan
from shared.events.messages import OperationKind


async def build_plan(ctx: Deploying, steps: list[Step[Deploying]], notes: list[str]) -> Plan:
    """The plan of an install or reconfigure, from its draft render."""
    m, project = ctx.validated.manifest, ctx.rendered.project
    running = {
        c.name for c in await project_containers(ctx.deps.engine, ctx.service_id) if c.running
    }
    # The admin's choices, not only the manifest's defaults.
    facts = PlanFacts(ctx.cell.domain, ctx.cell.cell_address, ctx.service_ip, {CHOICE: ctx.egress})
    # What each participant would do, as its contract's plan section says.
    shown = {spec.name: spec.plan(m, facts) for _, spec in after_health(m)}
    return Plan(
        kind=ctx.kind,
        service_id=ctx.service_id,
        version=m.version,
        containers=project.containers,
        recreate=project.changed(ctx.previous_project, running),
        service_ip=ctx.service_ip,  # the IP it holds (a new install holds none yet)
        volumes=project.volumes,
        steps=[s.name for s in steps],
        notes=notes,
        participants=shown,
    )


async def removal_plan(ctx: OpContext, purge: bool) -> Plan:
    containers = [c.name for c in await project_containers(ctx.deps.engine, ctx.service_id)]
    record = ctx.previous
    volumes = record.volumes if record else []
    return Plan(
        kind=OperationKind.remove,
        service_id=ctx.service_id,
        version=record.version if record else None,
        containers=containers,
        service_ip=await ctx.deps.pool.held_by(ctx.service_id),
        volumes=[] if purge else volumes,
        delete_volumes=volumes if purge else [],
        notes=[
            "volumes and secrets are deleted"
            if purge
            else "volumes and secrets are kept; remove with purge to delete them"
        ],
    )
