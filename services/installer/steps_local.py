"""Install steps the installer does itself, each with the compensation that undoes it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from services.installer.containers import (
    LABEL_PROJECT,
    container_specs,
)
from services.installer.context import OpContext
from services.installer.prepare import options_for
from services.installer.runtime import changed, create_and_start, project_containers, wait_healthy
from services.installer.saga import StepData, StepSkipped
from services.installer.state import Secrets
from shared.bus import Conflict
from shared.compose import CELL_NETWORK, RenderContext, render_compose
from shared.errors import OperationError


async def allocate_ip(ctx: OpContext) -> StepData:
    held = await ctx.deps.pool.held_by(ctx.service_id)
    ctx.service_ip = await ctx.deps.pool.allocate(ctx.service_id, ctx.operation_id)
    return {"ip": ctx.service_ip, "new": held is None}


async def release_ip(ctx: OpContext, data: StepData) -> None:
    if data.get("new"):
        await ctx.deps.pool.release(ctx.service_id, data["ip"])


async def render(ctx: OpContext) -> StepData:
    stored = await ctx.deps.buckets.secrets.get(ctx.service_id)
    result = render_compose(ctx.template_text, ctx.manifest, RenderContext(
        domain=ctx.cell.domain, cell_name=ctx.cell.cell_name,
        data_dir=str(ctx.deps.settings.data_dir), service_ip=ctx.service_ip,
        config=ctx.config, secrets=stored.value.values if stored else {},
        options=options_for(ctx),
    ))
    ctx.compose, ctx.secrets = result.document, result.secrets
    retarget_network(ctx.compose, CELL_NETWORK, ctx.deps.settings.network)
    pin_main_image(ctx)
    ctx.compose_text = yaml.safe_dump(ctx.compose, sort_keys=False)
    bind_root = PurePosixPath(str(ctx.service_dir))
    ctx.specs = container_specs(ctx.compose, ctx.service_id, ctx.deps.settings.network,
                                bind_root, ctx.operation_id)
    return {"new_secrets": sorted(result.new_secrets)}


def retarget_network(document: dict[str, Any], default: str, network: str) -> None:
    """Attach to the network this installer runs on, when it is not the default name."""
    if default == network:
        return
    for body in (document.get("services") or {}).values():
        networks = body.get("networks") if isinstance(body, dict) else None
        if isinstance(networks, dict) and default in networks:
            networks[network] = networks.pop(default)
    top = document.get("networks")
    if isinstance(top, dict) and default in top:
        top[network] = top.pop(default)


def pin_main_image(ctx: OpContext) -> None:
    """The manifest's container runs the manifest's image, digest-pinned once verified."""
    services = ctx.compose.get("services") or {}
    for body in services.values():
        if isinstance(body, dict) and body.get("container_name") == ctx.manifest.container_name:
            body["image"] = ctx.image or ctx.manifest.image
            return
    raise OperationError(f"the compose template has no service with container_name "
                         f"{ctx.manifest.container_name} (the manifest's container_name)")


async def save_secrets(ctx: OpContext) -> StepData:
    bucket = ctx.deps.buckets.secrets
    stored = await bucket.get(ctx.service_id)
    before = stored.value.values if stored else {}
    added = sorted(set(ctx.secrets) - set(before))
    if not added:
        raise StepSkipped("no new secrets")
    value = Secrets(values={**before, **{k: ctx.secrets[k] for k in added}})
    try:
        if stored is None:
            await bucket.create(ctx.service_id, value)
        else:
            await bucket.update(ctx.service_id, value, stored.revision)
    except Conflict as exc:
        raise OperationError("the service's secrets changed during the install; try again") \
            from exc
    return {"added": added, "created": stored is None}


async def drop_new_secrets(ctx: OpContext, data: StepData) -> None:
    bucket = ctx.deps.buckets.secrets
    stored = await bucket.get(ctx.service_id)
    if stored is None:
        return
    if data.get("created"):
        await bucket.delete(ctx.service_id)
        return
    kept = {k: v for k, v in stored.value.values.items() if k not in set(data["added"])}
    await bucket.put(ctx.service_id, Secrets(values=kept))


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".compose-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)  # it holds the rendered secrets
    os.replace(tmp, path)


async def write_compose(ctx: OpContext) -> StepData:
    previous = ctx.compose_path.read_text() if ctx.compose_path.exists() else None
    _write_atomically(ctx.compose_path, ctx.compose_text)
    return {"previous": previous}


async def restore_compose(ctx: OpContext, data: StepData) -> None:
    if data.get("previous") is not None:
        _write_atomically(ctx.compose_path, data["previous"])
    else:
        ctx.compose_path.unlink(missing_ok=True)
        if ctx.service_dir.exists() and not any(ctx.service_dir.iterdir()):
            ctx.service_dir.rmdir()


async def ensure_network(ctx: OpContext) -> StepData:
    s = ctx.deps.settings
    await ctx.deps.engine.ensure_network(s.network, s.subnet, s.dynamic_range,
                                         {"ngo.pic.store.network": "cell"})
    return {}


async def create_volumes(ctx: OpContext) -> StepData:
    created = []
    for spec in ctx.specs:
        for volume in spec.volumes:
            short = volume.removeprefix(f"{ctx.service_id}_")
            labels = {LABEL_PROJECT: ctx.service_id, "com.docker.compose.volume": short,
                      "ngo.pic.store.service": ctx.service_id}
            if await ctx.deps.engine.ensure_volume(volume, labels):
                created.append(volume)
    return {"created": created}


async def remove_new_volumes(ctx: OpContext, data: StepData) -> None:
    # Only volumes this operation created: they hold nothing a user put there.
    for volume in data.get("created", []):
        await ctx.deps.engine.remove_volume(volume)


async def pull_images(ctx: OpContext) -> StepData:
    for image in sorted({spec.image for spec in ctx.specs}):
        if "@sha256:" in image and await ctx.deps.engine.image_exists(image):
            continue
        await ctx.deps.engine.pull(image)
    return {}


async def start_containers(ctx: OpContext) -> StepData:
    engine = ctx.deps.engine
    current = {c.name: c for c in await project_containers(engine, ctx.service_id)}
    created: list[str] = []
    previous: dict[str, dict[str, object]] = {}
    wanted = {spec.name for spec in ctx.specs}
    for name in current:
        if name not in wanted:
            previous[name] = await _config_of(ctx, name)
            await engine.remove_container(name)
    for spec in ctx.specs:
        info = current.get(spec.name)
        if not changed(spec, info):
            if info is not None and not info.running:
                await engine.start(spec.name)
            continue
        if info is not None:
            previous[spec.name] = await _config_of(ctx, spec.name)
            await engine.remove_container(spec.name)
        created.append(spec.name)
        await create_and_start(engine, spec)
    return {"created": created, "previous": previous}


async def _config_of(ctx: OpContext, name: str) -> dict[str, object]:
    """The create config of a running container, from the compose file it was made from."""
    for spec in ctx.previous_specs:
        if spec.name == name:
            return spec.config
    return {}


async def restore_containers(ctx: OpContext, data: StepData) -> None:
    engine = ctx.deps.engine
    for name in data.get("created", []):
        await engine.remove_container(name, stop_timeout=2)
    for name, config in data.get("previous", {}).items():
        if config and await engine.inspect(name) is None:
            await engine.create_container(name, config)
            await engine.start(name)


async def wait_until_healthy(ctx: OpContext) -> StepData:
    probe = None
    backend = getattr(ctx.manifest, "backend", None)
    if backend and ctx.service_ip:
        host, _, port = backend.rpartition(":")
        if host == ctx.manifest.container_name:
            probe = (ctx.service_ip, int(port))
    how = {}
    for spec in ctx.specs:
        timeout = ctx.deps.settings.health_timeout
        main = spec.name == ctx.manifest.container_name
        how[spec.name] = await wait_healthy(ctx.deps.engine, spec.name, timeout,
                                            probe if main else None)
    return {"judged_by": how}
