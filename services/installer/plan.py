"""What an operation would do, computed without changing anything."""

from __future__ import annotations

from services.installer.context import OpContext
from services.installer.preflight import hosts_of
from services.installer.runtime import project_containers
from services.installer.saga import Step
from shared.events import Plan
from shared.events.messages import OperationKind


async def build_plan(ctx: OpContext, steps: list[Step[OpContext]], notes: list[str]) -> Plan:
    m = ctx.manifest
    assert ctx.project is not None
    running = {c.name for c in await project_containers(ctx.deps.engine, ctx.service_id)
               if c.running}
    recreate = ctx.project.changed(ctx.previous_project, running)
    routes, dns = [], []
    hosts = hosts_of(m)
    if hosts:
        backends = [m.backend, *(m.extra_backends or [])]
        names = [m.subdomain, *(m.extra_subdomains or [])]
        for name, backend in zip(names, backends, strict=False):
            routes.append(f"{name}.{ctx.cell.domain} -> {backend}")
            dns.append(f"{name}.{ctx.cell.domain} A {ctx.cell.cell_address}")
    rules = [f"ACCEPT {r.proto} to {r.dest_ip}:{r.dest_port}".replace(
        "${SERVICE_IP}", ctx.service_ip or "${SERVICE_IP}") for r in (m.iptables_rules or [])]
    backups = []
    if m.has_storage and m.backup is not None:
        backups = [f"{v.name}.tar.gz from {v.container}:{v.path}" for v in m.backup.volumes]
        backups += [f"config {p}" for p in m.backup.config_paths]
    volumes = ctx.project.volumes
    return Plan(
        kind=ctx.kind, service_id=ctx.service_id, version=m.version,
        containers=ctx.project.containers, recreate=recreate,
        service_ip=ctx.service_ip, volumes=volumes, routes=routes, dns_names=dns,
        firewall_rules=rules, egress=m.egress.default if m.has_egress and m.egress else None,
        accounts=bool(m.has_accounts), backups=backups,
        steps=[s.name for s in steps], notes=notes,
    )


async def removal_plan(ctx: OpContext, purge: bool) -> Plan:
    containers = [c.name for c in await project_containers(ctx.deps.engine, ctx.service_id)]
    record = ctx.previous
    volumes = record.volumes if record else []
    return Plan(
        kind=OperationKind.remove, service_id=ctx.service_id,
        version=record.version if record else None, containers=containers,
        service_ip=await ctx.deps.pool.held_by(ctx.service_id),
        volumes=[] if purge else volumes, delete_volumes=volumes if purge else [],
        notes=["volumes and secrets are deleted" if purge else
               "volumes and secrets are kept; remove with purge to delete them"],
    )
