"""What can be known before touching anything; refuse up front rather than die half-way."""

from __future__ import annotations

import asyncio

from services.installer.context import Deploying, OpContext
from services.installer.project import LABEL_OWNER, LABEL_PROJECT
from shared.errors import OperationError
from shared.events.messages import ServiceState
from shared.manifest import names_of


class PreflightError(OperationError):
    """Disk space, the IP, name collisions, engine features or foreign containers refuse the
    install."""

    key = "preflight_failed"


async def early_problems(ctx: OpContext) -> list[str]:
    """What needs no rendered file: it runs while the file is rendered."""
    await ctx.deps.engine.ping()  # raises a clear PartUnavailableError
    found = await asyncio.gather(_disk(ctx), _pool(ctx), _collisions(ctx))
    return [problem for problems in found for problem in problems]


async def rendered_problems(ctx: Deploying) -> list[str]:
    """What the rendered file tells: engine features, container names already taken."""
    found = await asyncio.gather(_engine_features(ctx), _names(ctx), _foreign_containers(ctx))
    return [problem for problems in found for problem in problems]


async def _disk(ctx: OpContext) -> list[str]:
    free = await ctx.deps.engine.free_disk_bytes()
    need = ctx.deps.settings.min_free_bytes
    if free is not None and free < need:
        return [
            f"only {free // 1024**2} MiB free for images and data; "
            f"at least {need // 1024**2} MiB are needed"
        ]
    return []


async def _pool(ctx: OpContext) -> list[str]:
    if await ctx.deps.pool.candidate(ctx.service_id) is None:
        return ["no free cell IP address: every address of the pool is in use"]
    return []


async def _collisions(ctx: OpContext) -> list[str]:
    """A label of the cell domain is one service's: subdomains and hostnames alike."""
    problems: list[str] = []
    mine = names_of(ctx.manifest_data)
    for other_id, record in sorted((await ctx.deps.buckets.services.items()).items()):
        other = record.value
        if other_id == ctx.service_id or other.state == ServiceState.removed:
            continue
        theirs = names_of(other.manifest)
        for name in sorted(mine.keys() & theirs.keys()):
            held = "" if theirs[name] == mine[name] else f" (as its {theirs[name]})"
            problems.append(
                f"{mine[name]} {name!r} is already used by the installed service {other_id}{held}"
            )
    return problems


async def _names(ctx: Deploying) -> list[str]:
    """A container name is one container's, and on the cell network the only name it answers
    to: none of this service's may be a name of another installed service (its record
    holds every container it runs, whether or not they run now)."""
    mine = {ctx.validated.manifest.container_name, *ctx.rendered.project.containers}
    problems = []
    for other_id, record in sorted((await ctx.deps.buckets.services.items()).items()):
        other = record.value
        if other_id == ctx.service_id or other.state == ServiceState.removed:
            continue
        theirs = {*other.containers, *other.addresses, other.manifest.get("container_name")}
        problems += [
            f"the container name {name} of {ctx.service_id} is already a container of the "
            f"installed service {other_id}"
            for name in sorted(mine & theirs - {None})
        ]
    return problems


async def _foreign_containers(ctx: Deploying) -> list[str]:
    names = ctx.rendered.project.containers
    found = await asyncio.gather(*(ctx.deps.engine.inspect(name) for name in names))
    problems = []
    for name, info in zip(names, found, strict=True):
        if info is None or info.labels.get(LABEL_PROJECT) == ctx.service_id:
            continue
        owner = info.labels.get(LABEL_OWNER) or info.labels.get(LABEL_PROJECT)
        problems.append(
            f"a container named {name} already exists and belongs to {owner}, not to "
            f"{ctx.service_id}"
            if owner
            else f"a container named {name} already exists and does not belong to {ctx.service_id}"
        )
    return problems


async def require_preflight(ctx: Deploying, early: list[str]) -> None:
    problems = early + await rendered_problems(ctx)
    if problems:
        raise PreflightError("pre-flight refused the operation: " + "; ".join(problems))


# Compose refuses these keys on an older engine; say so before anything is touched.
_NEEDS_API = {("healthcheck", "start_interval"): ((1, 44), "Docker Engine 25")}


async def _engine_features(ctx: Deploying) -> list[str]:
    api = await ctx.deps.engine.api_version()
    problems = []
    for service, body in ctx.rendered.project.services.items():
        for (section, key), (needed, engine) in _NEEDS_API.items():
            if key in (body.get(section) or {}) and api < needed:
                problems.append(
                    f"services.{service}.{section}.{key} needs {engine} or later; this cell's "
                    f"engine speaks API {api[0]}.{api[1]}: upgrade Docker or leave it out"
                )
    return problems
