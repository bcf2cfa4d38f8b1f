"""Install steps the installer does itself, each with the compensation that undoes it.

Docker Compose runs the rendered file (`docker compose -p <id> up -d`); these steps prepare
what it needs (IP, secrets, the file, the network, the images) and judge its result.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from services.installer.context import Deploying, OpContext, Rendered, Validated
from services.installer.host_folders import prepare_host_folders, private_folder
from services.installer.prepare import options_for
from services.installer.project import LABEL_PROJECT, Project
from services.installer.runtime import project_containers, wait_healthy
from services.installer.saga import StepData, StepSkipped
from services.installer.state import Secrets
from shared.bus import Conflict
from shared.cell_ca import CellCa, ensure_ca, load_ca
from shared.compose import RenderContext, render_compose
from shared.errors import ConfigError, OperationError


async def allocate_ip(ctx: Deploying) -> StepData:
    held = await ctx.deps.pool.held_by(ctx.service_id)
    ctx.service_ip = await ctx.deps.pool.allocate(ctx.service_id, ctx.operation_id)
    return {"ip": ctx.service_ip, "new": held is None}


async def release_ip(ctx: OpContext, data: StepData) -> None:
    if data.get("new"):
        await ctx.deps.pool.release(ctx.service_id, data["ip"])


async def render(ctx: Deploying) -> StepData:
    """Render the file and have Compose and the policy judge it (nothing is written).

    The render before the saga (for the plan and the pre-flight) assumed the IP the pool
    would give; when the saga got that IP and verification pinned nothing new, its file is
    the one to run, and Compose need not judge it twice.
    """
    stored = await ctx.deps.buckets.secrets.get(ctx.service_id)
    before = stored.value.values if stored else {}
    if not ctx.rendered.made_for(ctx.ip, ctx.pinned):
        ctx.rendered = await render_file(
            ctx, ctx.validated, ctx.ip, {**ctx.rendered.secrets, **before}
        )
    return {"new_secrets": sorted(set(ctx.rendered.secrets) - set(before))}


async def render_file(
    op: OpContext, validated: Validated, ip: str, secrets: dict[str, str]
) -> Rendered:
    """One render of the validated sources for this IP and the images pinned so far."""
    settings = op.deps.settings
    context = RenderContext(
        domain=op.cell.domain,
        cell_name=op.cell.cell_name,
        data_dir=str(settings.store_data_dir),
        service_ip=ip,
        config=validated.config,
        secrets=secrets,
        options=options_for(op),
        network=settings.network,
        pinned=op.pinned,
        ca=_cell_ca(op, validated),
    )
    fetched = validated.fetched
    result = await asyncio.to_thread(
        render_compose, fetched.template_text, fetched.manifest, context
    )
    op.hide(validated.secret_settings(), result.secrets)
    return Rendered(
        service_ip=ip,
        pinned=tuple(sorted(op.pinned.items())),
        secrets=result.secrets,
        compose_text=result.yaml_text,
        project=Project(op.service_id, result.canonical),
    )


def _cell_ca(op: OpContext, validated: Validated) -> CellCa | None:
    """The cell's root (made at its first use), for a service that names `hostnames`."""
    if not getattr(validated.fetched.manifest, "hostnames", None):
        return None
    data_dir = op.deps.settings.data_dir
    try:
        ensure_ca(data_dir, op.cell.cell_name)
        ca = load_ca(data_dir)
    except (ConfigError, OSError) as exc:
        raise OperationError(f"the cell's CA cannot be used: {exc}") from None
    assert ca is not None  # made just above
    return ca


async def save_secrets(ctx: Deploying) -> StepData:
    """Keep the generated secrets and the admin's secret settings in the secrets bucket, the
    only place they live (no other identity may read it); the journal holds no value, only
    the revision to go back to."""
    bucket = ctx.deps.buckets.secrets
    stored = await bucket.get(ctx.service_id)
    before = stored.value if stored else Secrets()
    secrets = ctx.rendered.secrets
    # New ones, and a certificate issued again (the others never change once stored).
    added = sorted(k for k in secrets if before.values.get(k) != secrets[k])
    wanted = Secrets(
        values={**before.values, **{k: secrets[k] for k in added}},
        settings=ctx.validated.secret_settings(),
    )
    if wanted == before:
        raise StepSkipped("no new secrets")
    try:
        if stored is None:
            await bucket.create(ctx.service_id, wanted)
        else:
            await bucket.update(ctx.service_id, wanted, stored.revision)
    except Conflict as exc:
        raise OperationError("the service's secrets changed during the install; try again") from exc
    return {"added": added, "revision": stored.revision if stored else None}


async def drop_new_secrets(ctx: OpContext, data: StepData) -> None:
    """Back to the revision before this operation (the bucket keeps a few), or none."""
    bucket = ctx.deps.buckets.secrets
    if data.get("revision") is None:
        await bucket.delete(ctx.service_id)
        return
    before = await bucket.get(ctx.service_id, revision=int(data["revision"]))
    if before is not None:
        await bucket.put(ctx.service_id, before.value)


def write_atomically(path: Path, text: str) -> None:
    """Write a file that holds rendered secrets: 0600, complete or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".compose-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


async def write_compose(ctx: Deploying) -> StepData:
    """Write the new file; what ran before stays beside it until the operation ends.

    A kept file found here was left by an attempt that died before it could journal this
    step: it is still what ran before, and the file beside it is that attempt's.
    """
    settings = ctx.deps.settings
    for folder in (settings.services_dir, ctx.service_dir):  # it holds secrets
        await asyncio.to_thread(private_folder, folder)
    had_previous = ctx.previous_compose_path.exists()
    if not had_previous and ctx.compose_path.exists():
        os.replace(ctx.compose_path, ctx.previous_compose_path)
        had_previous = True
    write_atomically(ctx.compose_path, ctx.rendered.compose_text)
    return {"previous": had_previous}


async def restore_compose(ctx: OpContext, data: StepData) -> None:
    if data.get("previous") and ctx.previous_compose_path.exists():
        os.replace(ctx.previous_compose_path, ctx.compose_path)
        return
    ctx.compose_path.unlink(missing_ok=True)
    if ctx.service_dir.exists() and not any(ctx.service_dir.iterdir()):
        ctx.service_dir.rmdir()


def forget_previous_compose(ctx: OpContext) -> None:
    """The operation is over: the old file (and its secrets) is not needed any more."""
    ctx.previous_compose_path.unlink(missing_ok=True)


async def ensure_network(ctx: OpContext) -> StepData:
    s = ctx.deps.settings
    await ctx.deps.engine.ensure_network(
        s.network, s.subnet, s.dynamic_range, {"ngo.pic.store.network": "cell"}
    )
    return {}


async def pull_images(ctx: Deploying) -> StepData:
    pulled = []
    for image in ctx.rendered.project.images:
        if "@sha256:" in image and await ctx.deps.engine.image_exists(image):
            continue
        await ctx.deps.engine.pull(image)
        pulled.append(image)
    if not pulled:
        raise StepSkipped("every image is here already")
    return {"pulled": pulled}


async def start_containers(ctx: Deploying) -> StepData:
    """`docker compose up -d`: Compose recreates exactly the containers whose config changed."""
    project = ctx.rendered.project
    await asyncio.to_thread(prepare_folders, ctx, project)
    volumes_before = set(await _project_volumes(ctx))
    before = ctx.previous_project
    dropped = before is not None and bool(set(before.services) - set(project.services))
    await ctx.compose().up(remove_orphans=dropped)
    created = sorted(set(await _project_volumes(ctx)) - volumes_before)
    return {"created_volumes": created}


def prepare_folders(ctx: OpContext, project: Project) -> None:
    """The service's folders on the host, right before Compose starts its containers."""
    prepare_host_folders(ctx.deps.settings.store_data_dir, ctx.service_id, project.bind_sources)


async def restore_containers(ctx: OpContext, data: StepData) -> None:
    """Run what ran before (its file is kept beside the new one), or take the project down;
    then remove only the volumes this operation created: they hold nothing a user put there."""
    if ctx.previous_compose_path.exists():
        if ctx.previous_project is not None:
            await asyncio.to_thread(prepare_folders, ctx, ctx.previous_project)
        await ctx.compose(ctx.previous_compose_path).up(remove_orphans=True)
    else:
        await ctx.compose().down()
    for volume in data.get("created_volumes", []):
        await ctx.deps.engine.remove_volume(volume)


async def _project_volumes(ctx: OpContext) -> list[str]:
    return await ctx.deps.engine.list_volumes(f"{LABEL_PROJECT}={ctx.service_id}")


async def wait_until_healthy(ctx: Deploying) -> StepData:
    """Each container healthy (its healthcheck, else the backend port, else a steady run);
    then note every container's address on the cell network, for the routes."""
    manifest = ctx.validated.manifest
    probe = None
    backend = manifest.backend if manifest.has_subdomain else None
    if backend:
        host, _, port = backend.rpartition(":")
        if host == manifest.container_name:
            probe = (ctx.rendered.service_ip, int(port))
    timeout = ctx.deps.settings.health_timeout
    names = ctx.rendered.project.containers
    judged = await asyncio.gather(
        *(
            wait_healthy(
                ctx.deps.engine,
                name,
                timeout,
                probe if name == manifest.container_name else None,
            )
            for name in names
        )
    )
    ctx.addresses = await container_addresses(ctx)
    return {"judged_by": dict(zip(names, judged, strict=True))}


async def container_addresses(ctx: OpContext) -> dict[str, str]:
    network = ctx.deps.settings.network
    found = await project_containers(ctx.deps.engine, ctx.service_id)
    return {
        info.name: info.ip_addresses[network] for info in found if info.ip_addresses.get(network)
    }
