"""What each life-cycle command does, from its command to its outcome."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

from services.installer import egress as egress_choice
from services.installer import steps_local as local
from services.installer.context import (
    Applied,
    Deploying,
    Deps,
    Fetched,
    OpContext,
    Planned,
    Rendered,
    Validated,
)
from services.installer.lifecycle import install_steps, reconfigure_steps, remove_steps
from services.installer.operations import Operations
from services.installer.plan import build_plan, removal_plan
from services.installer.preflight import early_problems, require_preflight
from services.installer.prepare import (
    Change,
    decide,
    fetch,
    load_previous_project,
    options_for,
    validate,
)
from services.installer.runtime import project_containers
from services.installer.saga import C, Journal, Report, Step, run
from services.installer.state import OperationRecord, OpStatus, Snapshot, now
from services.installer.steps_remote import PARTICIPANT_STEPS
from services.installer.upgrade_guard import backup_before_upgrade
from shared.config import CellConfig
from shared.config_source import cell_config
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


def snapshot_of(ctx: OpContext, validated: Validated | None = None) -> Snapshot:
    """What recovery needs to undo the saga about to start (no secret: public settings)."""
    return Snapshot(
        store=validated.fetched.store if validated else "",
        manifest=ctx.manifest_data,
        config=validated.public_config() if validated else {},
        service_ip=ctx.service_ip,
        image=ctx.image,
        pinned=ctx.pinned,
        egress=ctx.egress,
        previous=ctx.previous,
    )


async def _draft(op: OpContext, validated: Validated) -> Rendered:
    """Render in memory (nothing stored) to know the containers for the plan and pre-flight,
    with the IP the service holds, else the one the pool would give now (the render step
    reuses this render when the saga gets that IP)."""
    ip = op.service_ip or await op.deps.pool.candidate(op.service_id) or op.deps.settings.pool_first
    stored = await op.deps.buckets.secrets.get(op.service_id)
    return await local.render_file(op, validated, ip, stored.value.values if stored else {})


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


async def _journaled(
    ctx: C, ops: Operations, record: OperationRecord, steps: Sequence[Step[C]], snap: Snapshot
) -> list[str]:
    """Run the steps, the snapshot recovery needs saved first; the names of those done."""
    record.snapshot = snap.model_dump(mode="json")
    await ops.save(record)
    report, journal = _reporter(ops, record, ctx)
    done = await run(steps, ctx, ctx.kind.value, report, journal)
    local.forget_previous_compose(ctx)
    return [name for name, _ in done]


async def _apply(
    ctx: Deploying, ops: Operations, record: OperationRecord, planned: Planned
) -> Applied:
    """The planned saga, run: what it left running."""
    done = await _journaled(ctx, ops, record, planned.steps, snapshot_of(ctx, planned.validated))
    return Applied(rendered=ctx.rendered, addresses=dict(ctx.addresses), done=done)


async def _plan(ctx: Deploying, steps: list[Step[Deploying]], notes: list[str]) -> Planned:
    return Planned(ctx.validated, ctx.rendered, steps, await build_plan(ctx, steps, notes))


async def install(
    op: OpContext, cmd: InstallCommand, ops: Operations, record: OperationRecord
) -> Outcome:
    existing = await op.deps.buckets.services.get(op.service_id)
    op.previous = existing.value if existing else None
    fetched = await fetch(op, cmd.payload.store)
    kept = await _settings_in_use(op)
    validated = validate(op, fetched, {**kept, **cmd.payload.config}, cmd.payload.egress)
    version = fetched.manifest.version
    change = decide(op, cmd.payload.confirm_downgrade)
    if change == Change.same:
        return OpStatus.noop, f"{op.service_id} {version} is already installed", None
    load_previous_project(op)
    early = asyncio.create_task(early_problems(op))  # while Compose judges the file
    try:
        ctx = Deploying.begin(op, validated, await _draft(op, validated))
        before = f"{op.previous.version} -> " if op.previous and op.previous.version else ""
        planned = await _plan(ctx, install_steps(ctx), [f"{change.value}: {before}{version}"])
    except BaseException:
        early.cancel()
        with contextlib.suppress(BaseException):
            await early
        raise
    problems = await early
    if cmd.payload.plan_only:
        return OpStatus.planned, f"plan for {change.value} of {op.service_id}", planned.plan
    await require_preflight(ctx, problems)
    if change == Change.upgrade:
        await backup_before_upgrade(op)  # the manager restores from it if the saga fails
    name = fetched.manifest.name
    await _set_state(ctx, ops, ServiceState.installing, version=version, name=name, last_error="")
    applied = await _apply(ctx, ops, record, planned)
    _keep_sources(ctx, fetched)
    project = applied.rendered.project
    await _set_state(
        ctx,
        ops,
        ServiceState.installed,
        version=version,
        name=name,
        manifest=fetched.manifest_data,
        store=fetched.store,
        config=validated.public_config(),
        service_ip=applied.rendered.service_ip,
        image=ctx.image,
        pinned=ctx.pinned,
        egress=validated.egress,
        compose_path=str(ctx.compose_path),
        containers=project.containers,
        volumes=project.volumes,
        addresses=applied.addresses,
        warnings=ctx.warnings,
        applied_steps=[n for n in applied.done if n in PARTICIPANT_STEPS],
        last_error="",
    )
    return (
        OpStatus.succeeded,
        f"{op.service_id} {version} installed at {applied.rendered.service_ip}",
        planned.plan,
    )


def _keep_sources(ctx: OpContext, fetched: Fetched) -> None:
    """Keep the manifest and template beside the compose file, for reconfigure."""
    ctx.service_dir.mkdir(parents=True, exist_ok=True)
    (ctx.service_dir / "manifest.json").write_text(json.dumps(fetched.manifest_data, indent=2))
    (ctx.service_dir / "compose-template.yml").write_text(fetched.template_text)


def _installed_sources(op: OpContext, previous: ServiceRecord) -> Fetched:
    """The fetched phase of a reconfigure: the sources the installed version was made from."""
    template = op.service_dir / "compose-template.yml"
    if not template.exists():
        raise OperationError(
            f"the compose template of {op.service_id} is missing from "
            f"{op.service_dir}; install it again"
        )
    manifest = parse_manifest(previous.manifest, options_for(op))
    fetched = Fetched(previous.store, manifest, previous.manifest, template.read_text())
    op.take(fetched)
    return fetched


async def reconfigure(
    op: OpContext, cmd: ReconfigureCommand, ops: Operations, record: OperationRecord
) -> Outcome:
    existing = await op.deps.buckets.services.get(op.service_id)
    if existing is None or existing.value.state != ServiceState.installed:
        state = existing.value.state.value if existing else "not installed"
        raise OperationError(f"{op.service_id} cannot be reconfigured: it is {state}")
    op.previous = previous = existing.value
    if previous.service_ip is None:
        raise OperationError(f"{op.service_id} has no cell IP in its record; install it again")
    fetched = _installed_sources(op, previous)
    op.image, op.service_ip, op.pinned = previous.image, previous.service_ip, dict(previous.pinned)
    in_use = await _settings_in_use(op)
    validated = validate(op, fetched, {**in_use, **cmd.payload.config}, cmd.payload.egress)
    load_previous_project(op)
    ctx = Deploying.begin(op, validated, await _draft(op, validated))
    planned = await _plan(ctx, reconfigure_steps(ctx), [])
    plan = planned.plan
    if cmd.payload.plan_only:
        return OpStatus.planned, f"plan for reconfiguring {op.service_id}", plan
    if not plan.recreate and validated.config == in_use and not egress_choice.changed(ctx):
        return OpStatus.noop, "nothing changed: the settings are the ones in use", plan
    await _set_state(ctx, ops, ServiceState.reconfiguring)
    applied = await _apply(ctx, ops, record, planned)
    await _set_state(
        ctx,
        ops,
        ServiceState.installed,
        config=validated.public_config(),
        containers=applied.rendered.project.containers,
        volumes=applied.rendered.project.volumes,
        addresses=applied.addresses,
        egress=validated.egress,
        last_error="",
    )
    return (
        OpStatus.succeeded,
        f"{op.service_id} reconfigured; recreated: {', '.join(plan.recreate) or 'none'}",
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
    await _journaled(ctx, ops, record, remove_steps(ctx), snapshot_of(ctx))
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


async def context_from_snapshot(deps: Deps, record: OperationRecord, snap: Snapshot) -> OpContext:
    """The context a recovery compensates with: the operation as its snapshot tells it (the
    service's stored secrets only to mask them in what it reports)."""
    ctx = OpContext(
        deps=deps,
        operation_id=record.operation_id,
        kind=record.kind,
        service_id=record.service_id,
        cell=cell_config(deps.settings.data_dir),
        previous=snap.previous,
        manifest_data=snap.manifest,
        service_ip=snap.service_ip,
        image=snap.image,
        pinned=dict(snap.pinned),
        egress=snap.egress,
    )
    if snap.manifest:
        ctx.parsed = parse_manifest(snap.manifest, options_for(ctx))
    stored = await deps.buckets.secrets.get(record.service_id)
    if stored is not None:
        ctx.hide(stored.value.settings, stored.value.values)
    load_previous_project(ctx)
    return ctx


async def mark_interrupted(
    ctx: OpContext, ops: Operations, record: OperationRecord, reason: str
) -> None:
    existing = await ctx.deps.buckets.services.get(record.service_id)
    if existing is not None and existing.value.state in (
        ServiceState.installing,
        ServiceState.reconfiguring,
        ServiceState.removing,
    ):
        await after_failure(ctx, ops, record, reason)


async def mark_unrecoverable(
    deps: Deps, ops: Operations, record: OperationRecord, reason: str
) -> None:
    """A dead operation that could not be rolled back: a service it was working on is
    `failed`, with the reason."""
    existing = await deps.buckets.services.get(record.service_id)
    if existing is not None and existing.value.state in (
        ServiceState.installing,
        ServiceState.reconfiguring,
        ServiceState.removing,
    ):
        ctx = OpContext(
            deps=deps,
            operation_id=record.operation_id,
            kind=record.kind,
            service_id=record.service_id,
            cell=CellConfig(),
        )
        await _set_state(ctx, ops, ServiceState.failed, last_error=reason)
