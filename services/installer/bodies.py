"""What each life-cycle command does, from its command to its outcome."""

from __future__ import annotations

import asyncio
import contextlib
import json

from services.installer import egress as egress_choice
from services.installer import steps_local as local
from services.installer.context import Deps, OpContext
from services.installer.lifecycle import install_steps, reconfigure_steps, remove_steps
from services.installer.operations import Operations
from services.installer.plan import build_plan, removal_plan
from services.installer.preflight import early_problems, require_preflight
from services.installer.prepare import (
    Change,
    decide,
    fetch_and_validate,
    load_previous_project,
    options_for,
    validate_config,
)
from services.installer.runtime import project_containers
from services.installer.saga import Journal, Report, Step, run
from services.installer.state import OperationRecord, OpStatus, now
from services.installer.steps_remote import PARTICIPANT_STEPS
from services.installer.upgrade_guard import backup_before_upgrade
from shared.config import CellConfig
from shared.errors import OperationError, PicStoreError
from shared.events import InstallCommand, Plan, ReconfigureCommand, RemoveCommand
from shared.events.messages import ConfigValue, OperationKind, ServiceState, StepStatus
from shared.installed import ServiceRecord
from shared.manifest import parse_manifest

Outcome = tuple[OpStatus, str, Plan | None]


def _reporter(ops: Operations, record: OperationRecord, ctx: OpContext) -> tuple[Report, Journal]:
    async def report(step: str, status: StepStatus, index: int, total: int, msg: str) -> None:
        await ops.progress(record, step, status, index, total, ctx.mask(msg))

    async def journal(step: str, data: dict[str, object]) -> None:
        await ops.journal(record, step, data)

    return report, journal


async def _settings_in_use(ctx: OpContext) -> dict[str, ConfigValue]:
    """The settings of the installed version: the record's, and the secret ones kept in the
    secrets bucket (a restore hands them over there, sealed, before it asks for the install:
    its install command carries no secret)."""
    stored = await ctx.deps.buckets.secrets.get(ctx.service_id)
    kept = stored.value.settings if stored else {}
    return {**(ctx.previous.config if ctx.previous else {}), **kept}


def _snapshot(ctx: OpContext) -> dict[str, object]:
    return {
        "store": ctx.store,
        "manifest": ctx.manifest_data,
        "config": ctx.public_config(),  # no secret outlives the operation in its record
        "service_ip": ctx.service_ip,
        "image": ctx.image,
        "pinned": ctx.pinned,
        "egress": ctx.egress,
        "previous": ctx.previous.model_dump(mode="json") if ctx.previous else None,
    }


async def _dry_render(ctx: OpContext) -> None:
    """Render in memory (nothing stored) to know the containers for the plan and pre-flight,
    with the IP the pool would give now (the render step reuses it when that holds)."""
    held = ctx.service_ip  # an install holds none yet; a reconfigure keeps its own
    ctx.service_ip = (
        held or await ctx.deps.pool.candidate(ctx.service_id) or ctx.deps.settings.pool_first
    )
    await local.render(ctx)
    ctx.service_ip = held


async def _set_state(
    ctx: OpContext,
    ops: Operations,
    state: ServiceState,
    **fields: object,
) -> ServiceRecord:
    bucket = ctx.deps.buckets.services
    current = await bucket.get(ctx.service_id)
    before = current.value if current else None
    base = before.model_dump() if before else {"service_id": ctx.service_id}
    record = ServiceRecord.model_validate(
        {**base, **fields, "state": state, "updated": now(), "last_operation": ctx.operation_id}
    )
    await bucket.put(ctx.service_id, record)
    await ops.state(
        ctx.service_id,
        ctx.operation_id,
        state,
        before.state if before else None,
        record.version,
        str(fields.get("last_error", "")),
    )
    return record


async def _saga(
    ctx: OpContext, ops: Operations, record: OperationRecord, steps: list[Step[OpContext]]
) -> list[str]:
    """Run the steps; the names of those done (not skipped)."""
    record.snapshot = _snapshot(ctx)
    await ops.save(record)
    report, journal = _reporter(ops, record, ctx)
    done = await run(steps, ctx, ctx.kind.value, report, journal)
    local.forget_previous_compose(ctx)
    return [name for name, _ in done]


async def install(
    ctx: OpContext, cmd: InstallCommand, ops: Operations, record: OperationRecord
) -> Outcome:
    existing = await ctx.deps.buckets.services.get(ctx.service_id)
    ctx.previous = existing.value if existing else None
    ctx.store = cmd.payload.store
    await fetch_and_validate(ctx)
    kept = await _settings_in_use(ctx)
    validate_config(ctx, {**kept, **cmd.payload.config})
    egress_choice.choose(ctx, cmd.payload.egress)
    change = decide(ctx, cmd.payload.confirm_downgrade)
    if change == Change.same:
        return OpStatus.noop, f"{ctx.service_id} {ctx.manifest.version} is already installed", None
    load_previous_project(ctx)
    early = asyncio.create_task(early_problems(ctx))  # while Compose judges the file
    try:
        await _dry_render(ctx)
        steps = install_steps(ctx)
        before = f"{ctx.previous.version} -> " if ctx.previous and ctx.previous.version else ""
        notes = [f"{change.value}: {before}{ctx.manifest.version}"]
        plan = await build_plan(ctx, steps, notes)
    except BaseException:
        early.cancel()
        with contextlib.suppress(BaseException):
            await early
        raise
    problems = await early
    if cmd.payload.plan_only:
        return OpStatus.planned, f"plan for {change.value} of {ctx.service_id}", plan
    await require_preflight(ctx, problems)
    if change == Change.upgrade:
        await backup_before_upgrade(ctx)
    await _set_state(
        ctx,
        ops,
        ServiceState.installing,
        version=ctx.manifest.version,
        name=ctx.manifest.name,
        last_error="",
    )
    done = await _saga(ctx, ops, record, steps)
    _keep_sources(ctx)
    assert ctx.project is not None
    await _set_state(
        ctx,
        ops,
        ServiceState.installed,
        version=ctx.manifest.version,
        name=ctx.manifest.name,
        manifest=ctx.manifest_data,
        store=ctx.store,
        config=ctx.public_config(),
        service_ip=ctx.service_ip,
        image=ctx.image,
        pinned=ctx.pinned,
        egress=ctx.egress,
        compose_path=str(ctx.compose_path),
        containers=ctx.project.containers,
        volumes=ctx.project.volumes,
        addresses=ctx.addresses,
        warnings=ctx.warnings,
        applied_steps=[n for n in done if n in PARTICIPANT_STEPS],
        last_error="",
    )
    return (
        OpStatus.succeeded,
        f"{ctx.service_id} {ctx.manifest.version} installed at {ctx.service_ip}",
        plan,
    )


def _keep_sources(ctx: OpContext) -> None:
    """Keep the manifest and template beside the compose file, for reconfigure."""
    ctx.service_dir.mkdir(parents=True, exist_ok=True)
    (ctx.service_dir / "manifest.json").write_text(json.dumps(ctx.manifest_data, indent=2))
    (ctx.service_dir / "compose-template.yml").write_text(ctx.template_text)


async def reconfigure(
    ctx: OpContext, cmd: ReconfigureCommand, ops: Operations, record: OperationRecord
) -> Outcome:
    existing = await ctx.deps.buckets.services.get(ctx.service_id)
    if existing is None or existing.value.state != ServiceState.installed:
        state = existing.value.state.value if existing else "not installed"
        raise OperationError(f"{ctx.service_id} cannot be reconfigured: it is {state}")
    ctx.previous = previous = existing.value
    ctx.manifest_data = previous.manifest
    ctx.parsed = parse_manifest(previous.manifest, options_for(ctx))
    template = ctx.service_dir / "compose-template.yml"
    if not template.exists():
        raise OperationError(
            f"the compose template of {ctx.service_id} is missing from "
            f"{ctx.service_dir}; install it again"
        )
    ctx.template_text = template.read_text()
    ctx.store, ctx.image, ctx.service_ip = previous.store, previous.image, previous.service_ip
    ctx.pinned = dict(previous.pinned)
    in_use = await _settings_in_use(ctx)
    validate_config(ctx, {**in_use, **cmd.payload.config})
    egress_choice.choose(ctx, cmd.payload.egress)
    load_previous_project(ctx)
    await local.render(ctx)
    steps = reconfigure_steps(ctx)
    plan = await build_plan(ctx, steps, [])
    if cmd.payload.plan_only:
        return OpStatus.planned, f"plan for reconfiguring {ctx.service_id}", plan
    if not plan.recreate and ctx.config == in_use and not egress_choice.changed(ctx):
        return OpStatus.noop, "nothing changed: the settings are the ones in use", plan
    await _set_state(ctx, ops, ServiceState.reconfiguring)
    await _saga(ctx, ops, record, steps)
    assert ctx.project is not None
    await _set_state(
        ctx,
        ops,
        ServiceState.installed,
        config=ctx.public_config(),
        containers=ctx.project.containers,
        volumes=ctx.project.volumes,
        addresses=ctx.addresses,
        egress=ctx.egress,
        last_error="",
    )
    return (
        OpStatus.succeeded,
        f"{ctx.service_id} reconfigured; recreated: {', '.join(plan.recreate) or 'none'}",
        plan,
    )


async def remove(
    ctx: OpContext, cmd: RemoveCommand, ops: Operations, record: OperationRecord
) -> Outcome:
    existing = await ctx.deps.buckets.services.get(ctx.service_id)
    ctx.previous = existing.value if existing else None
    ctx.purge = cmd.payload.purge
    if ctx.previous is not None and ctx.previous.manifest:
        try:
            ctx.parsed = parse_manifest(ctx.previous.manifest, options_for(ctx))
            ctx.manifest_data = ctx.previous.manifest
        except (PicStoreError, ValueError):  # remove works even for a broken record
            ctx.parsed = None
        ctx.service_ip = ctx.previous.service_ip
        ctx.egress = ctx.previous.egress
    plan = await removal_plan(ctx, ctx.purge)
    if cmd.payload.plan_only:
        return OpStatus.planned, f"plan for removing {ctx.service_id}", plan
    leftovers = await project_containers(ctx.deps.engine, ctx.service_id)
    held = await ctx.deps.pool.held_by(ctx.service_id)
    if ctx.previous is None and not leftovers and held is None and not ctx.purge:
        return OpStatus.noop, f"{ctx.service_id} is not installed", plan
    if ctx.previous is not None:
        await _set_state(ctx, ops, ServiceState.removing)
    await _saga(ctx, ops, record, remove_steps(ctx))
    await ctx.deps.buckets.services.delete(ctx.service_id)
    await ops.state(
        ctx.service_id,
        ctx.operation_id,
        ServiceState.removed,
        ctx.previous.state if ctx.previous else None,
        ctx.previous.version if ctx.previous else None,
    )
    kept = "data deleted" if ctx.purge else "volumes and secrets kept"
    return OpStatus.succeeded, f"{ctx.service_id} removed ({kept})", plan


async def after_failure(
    ctx: OpContext, ops: Operations, record: OperationRecord, reason: str
) -> None:
    """Leave the service in a state that tells the truth about the failure.

    A service that ran before the operation runs again after the rollback: its record comes
    back as it was, with the reason; anything else ends `failed` with the reason.
    """
    previous = ctx.previous
    if (
        previous is not None
        and previous.state == ServiceState.installed
        and ctx.kind != OperationKind.remove
    ):
        restored = previous.model_copy(
            update={"last_error": reason, "updated": now(), "last_operation": ctx.operation_id}
        )
        await ctx.deps.buckets.services.put(ctx.service_id, restored)
        await ops.state(
            ctx.service_id, ctx.operation_id, ServiceState.installed, None, previous.version, reason
        )
        return
    existing = await ctx.deps.buckets.services.get(ctx.service_id)
    if existing is None and (ctx.kind != OperationKind.install or ctx.parsed is None):
        return
    fields: dict[str, object] = {"last_error": reason, "service_ip": None}
    if existing is None:
        fields.update(version=ctx.manifest.version, name=ctx.manifest.name)
    await _set_state(ctx, ops, ServiceState.failed, **fields)


async def context_from_snapshot(deps: Deps, record: OperationRecord) -> OpContext:
    ctx = OpContext(
        deps=deps,
        operation_id=record.operation_id,
        kind=record.kind,
        service_id=record.service_id,
        cell=CellConfig.load(deps.settings.data_dir),
    )
    snap = record.snapshot
    ctx.store = str(snap.get("store") or "")
    ctx.manifest_data = dict(snap.get("manifest") or {})
    if ctx.manifest_data:
        ctx.parsed = parse_manifest(ctx.manifest_data, options_for(ctx))
    ctx.config = dict(snap.get("config") or {})
    ctx.service_ip = snap.get("service_ip")
    ctx.image = snap.get("image")
    ctx.pinned = dict(snap.get("pinned") or {})
    ctx.egress = snap.get("egress")
    previous = snap.get("previous")
    ctx.previous = ServiceRecord.model_validate(previous) if previous else None
    load_previous_project(ctx)
    return ctx


async def mark_interrupted(
    deps: Deps, ops: Operations, record: OperationRecord, reason: str
) -> None:
    ctx = await context_from_snapshot(deps, record)
    existing = await deps.buckets.services.get(record.service_id)
    if existing is not None and existing.value.state in (
        ServiceState.installing,
        ServiceState.reconfiguring,
        ServiceState.removing,
    ):
        await after_failure(ctx, ops, record, reason)
