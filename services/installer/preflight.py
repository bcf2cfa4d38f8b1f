"""What can be known before touching anything; refuse up front rather than die half-way."""

from __future__ import annotations

from services.installer.context import OpContext
from services.installer.project import LABEL_PROJECT
from shared.errors import OperationError
from shared.events.messages import ServiceState


class PreflightError(OperationError):
    key = "preflight_failed"


def hosts_of(manifest: object) -> set[str]:
    names = set()
    if getattr(manifest, "has_subdomain", False):
        names.add(getattr(manifest, "subdomain", None))
        names.update(getattr(manifest, "extra_subdomains", None) or [])
    return {n for n in names if n}


async def preflight(ctx: OpContext) -> list[str]:
    """Every problem found (empty when the operation may go on)."""
    problems: list[str] = []
    engine = ctx.deps.engine
    await engine.ping()  # raises a clear PartUnavailableError
    free = await engine.free_disk_bytes()
    need = ctx.deps.settings.min_free_bytes
    if free is not None and free < need:
        problems.append(f"only {free // 1024 ** 2} MiB free for images and data; "
                        f"at least {need // 1024 ** 2} MiB are needed")
    if await ctx.deps.pool.held_by(ctx.service_id) is None and \
            await ctx.deps.pool.free_count() == 0:
        problems.append("no free cell IP address: every address of the pool is in use")
    mine = hosts_of(ctx.manifest)
    for other_id, record in (await ctx.deps.buckets.services.items()).items():
        other = record.value
        if other_id == ctx.service_id or other.state == ServiceState.removed:
            continue
        theirs = _hosts_of_data(other.manifest)
        for host in sorted(mine & theirs):
            problems.append(f"subdomain {host!r} is already used by the installed service "
                            f"{other_id}")
        if other.manifest.get("container_name") == ctx.manifest.container_name:
            problems.append(f"container name {ctx.manifest.container_name} is already used "
                            f"by the installed service {other_id}")
    problems += await _engine_features(ctx)
    for name in ctx.containers:
        info = await engine.inspect(name)
        if info is not None and info.labels.get(LABEL_PROJECT) != ctx.service_id:
            problems.append(f"a container named {name} already exists and does not "
                            "belong to this service")
    return problems


def _hosts_of_data(manifest: dict[str, object]) -> set[str]:
    if not manifest.get("has_subdomain"):
        return set()
    names = {manifest.get("subdomain")}
    extra = manifest.get("extra_subdomains")
    if isinstance(extra, list):
        names.update(extra)
    return {n for n in names if isinstance(n, str) and n}


async def require_preflight(ctx: OpContext) -> None:
    problems = await preflight(ctx)
    if problems:
        raise PreflightError("pre-flight refused the operation: " + "; ".join(problems))


# Compose refuses these keys on an older engine; say so before anything is touched.
_NEEDS_API = {("healthcheck", "start_interval"): ((1, 44), "Docker Engine 25")}


async def _engine_features(ctx: OpContext) -> list[str]:
    if ctx.project is None:
        return []
    api = await ctx.deps.engine.api_version()
    problems = []
    for service, body in ctx.project.services.items():
        for (section, key), (needed, engine) in _NEEDS_API.items():
            if key in (body.get(section) or {}) and api < needed:
                problems.append(
                    f"services.{service}.{section}.{key} needs {engine} or later; this cell's "
                    f"engine speaks API {api[0]}.{api[1]}: upgrade Docker or leave it out")
    return problems
