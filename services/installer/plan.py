"""What an operation would do, computed without changing anything."""

from __future__ import annotations

from services.installer.context import OpContext
from services.installer.runtime import project_containers
from services.installer.saga import Step
from shared.events import Plan
from shared.events.messages import OperationKind
from shared.steps import PlanFacts, after_health


async def build_plan(ctx: OpContext, steps: list[Step[OpContext]], notes: list[str]) -> Plan:
    m = ctx.manifest
    assert ctx.project is not None
    running = {
        c.name for c in await project_containers(ctx.deps.engine, ctx.service_id) if c.running
    }
    facts = PlanFacts(ctx.cell.domain, ctx.cell.cell_address, ctx.service_ip)
    shown: dict[str, object] = {}
    for spec in after_health(m):  # what each participant would do, as its row says
        shown.update(spec.plan(m, facts))
    if "egress" in shown and ctx.egress is not None:
        shown["egress"] = ctx.egress  # the admin's choice, not only the manifest's default
    return Plan(
        kind=ctx.kind,
        service_id=ctx.service_id,
        version=m.version,
        containers=ctx.project.containers,
        recreate=ctx.project.changed(ctx.previous_project, running),
        service_ip=ctx.service_ip,
        volumes=ctx.project.volumes,
        steps=[s.name for s in steps],
        notes=notes,
        **shown,
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
