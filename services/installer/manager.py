"""The installer's verbs: install, reconfigure, remove, and recovery of dead operations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from services.installer import bodies
from services.installer.context import Deps, OpContext
from services.installer.lifecycle import install_steps, reconfigure_steps, remove_steps
from services.installer.metrics import OPERATIONS
from services.installer.operations import Operations, new_record
from services.installer.saga import (
    RollbackIncompleteError,
    Step,
    StepFailed,
    UndoFailure,
    compensate,
)
from services.installer.state import OperationRecord, OpStatus, Snapshot
from services.installer.upgrade_guard import restore_after_failed_upgrade
from shared.bus import Retry
from shared.config import CellConfig
from shared.config_source import cell_config
from shared.errors import PicStoreError
from shared.events import InstallCommand, Plan, ReconfigureCommand, RemoveCommand
from shared.events.messages import CompensationFailure, OperationKind, ServiceState, StepStatus
from shared.manifest import ManifestInvalidError

log = structlog.get_logger("installer")

Command = InstallCommand | ReconfigureCommand | RemoveCommand
KIND = {
    InstallCommand: OperationKind.install,
    ReconfigureCommand: OperationKind.reconfigure,
    RemoveCommand: OperationKind.remove,
}


class InstallerManager:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.ops = Operations(deps)

    async def handle(self, command: Command) -> None:
        """Run one command exactly once; a second delivery only repeats the result."""
        kind = KIND[type(command)]
        op_id, service_id = command.operation_id, command.service_id
        structlog.contextvars.bind_contextvars(operation_id=op_id, service_id=service_id)
        try:
            existing = await self.ops.get(op_id)
            if existing is not None and existing.status.final:
                log.info("duplicate_command", status=existing.status.value)
                await self.ops.result(existing)
                return
            taken_over = await self.ops.acquire(service_id, op_id)
            async with self.ops.holding(service_id, op_id):
                if taken_over is not None:
                    await self.recover(taken_over.operation_id)
                earlier: list[str] = []
                if existing is not None and existing.journal:
                    await self.recover(op_id)
                    again = await self.ops.get(op_id)
                    if again is not None and again.status.final:
                        return  # it could not be rolled back: reported failed, not run again
                    if again is not None and again.rollback_failures:
                        earlier.append(
                            "the rollback of an earlier attempt was incomplete: "
                            + _not_undone(again.rollback_failures)
                        )
                record = new_record(op_id, kind, service_id, self.deps.instance)
                await self.ops.save(record)
                await self._run(command, record, earlier)
        finally:
            structlog.contextvars.unbind_contextvars("operation_id", "service_id")

    async def _run(self, command: Command, record: OperationRecord, warnings: list[str]) -> None:
        """Run the body; whatever happens, the service's state is told, then the result."""
        ctx = OpContext(
            deps=self.deps,
            operation_id=record.operation_id,
            kind=record.kind,
            service_id=record.service_id,
            cell=CellConfig(),
            warnings=warnings,
        )
        plan: Plan | None = None
        # A plan changes nothing, even when it is refused: the service's state stays as it was.
        planning = bool(getattr(command.payload, "plan_only", False))
        try:
            ctx.cell = cell_config(self.deps.settings.data_dir)
            if isinstance(command, InstallCommand):
                outcome = await bodies.install(ctx, command, self.ops, record)
            elif isinstance(command, ReconfigureCommand):
                outcome = await bodies.reconfigure(ctx, command, self.ops, record)
            else:
                outcome = await bodies.remove(ctx, command, self.ops, record)
            status, message, plan = outcome
            if ctx.warnings:
                message = message + " (warnings: " + "; ".join(ctx.warnings) + ")"
            await self.ops.finish(record, status, ctx.mask(message))
        except StepFailed as exc:
            await self._failed(ctx, record, exc.message, exc.error_key, exc.undo_failures, planning)
        except ManifestInvalidError as exc:
            await self.ops.finish(record, OpStatus.failed, ctx.mask(exc.message), exc.key)
        except PicStoreError as exc:
            await self._failed(ctx, record, exc.message, exc.key, planning=planning)
        except Exception as exc:
            log.exception("operation_crashed")
            await self._failed(
                ctx,
                record,
                f"internal error ({type(exc).__name__}); see the installer's log",
                "internal_error",
                planning=planning,
            )
        OPERATIONS.labels(record.kind.value, record.status.value).inc()
        log.info("operation_finished", status=record.status.value, detail=record.message)
        await self.ops.result(record, plan)

    async def _failed(
        self,
        ctx: OpContext,
        record: OperationRecord,
        reason: str,
        key: str,
        undo_failures: list[UndoFailure] | None = None,
        planning: bool = False,
    ) -> None:
        # The service's state first: a crash between the two leaves the operation open,
        # and its recovery tells the state again. A refused plan touched nothing.
        failures = _failures(ctx, undo_failures or [])
        reason = ctx.mask(reason) + _incomplete(failures)
        if not planning:
            await bodies.after_failure(ctx, self.ops, record, reason)
            reason += await restore_after_failed_upgrade(ctx)
        await self.ops.finish(record, OpStatus.failed, reason, key, failures)

    async def recover(self, operation_id: str) -> None:
        """Roll back what a dead attempt journaled; mark it interrupted. One whose snapshot
        cannot be read is not rolled back: it ends failed, with the reason and its result."""
        record = await self.ops.get(operation_id)
        if record is None or record.status.final:
            return
        try:
            ctx = await bodies.context_from_snapshot(self.deps, record, Snapshot.of(record))
        except PicStoreError as exc:  # the snapshot, or the manifest in it, does not parse
            await self._unrecoverable(record, exc)
            return
        undo_failures: list[UndoFailure] = []
        if record.journal:
            steps: Sequence[Step[Any]]
            if record.kind == OperationKind.install:
                steps = install_steps(ctx)
            elif record.kind == OperationKind.reconfigure:
                steps = reconfigure_steps(ctx)
            else:
                steps = remove_steps(ctx)

            async def report(step: str, status: StepStatus, i: int, n: int, msg: str) -> None:
                await self.ops.progress(record, step, status, i, n, ctx.mask(msg))

            done = [(entry.step, entry.data) for entry in record.journal]
            undo_failures = await compensate(steps, done, ctx, report)
        failures = _failures(ctx, undo_failures)
        reason = "interrupted: the installer stopped mid-way; " + (
            "what it had done was rolled back" if not failures else "it rolled back what it could"
        )
        reason += _incomplete(failures)
        record.journal = []
        key = RollbackIncompleteError.key if failures else None
        await self.ops.finish(record, OpStatus.interrupted, reason, key, failures)
        await bodies.mark_interrupted(ctx, self.ops, record, reason)
        log.warning("operation_recovered", dead_operation=operation_id, complete=not failures)

    async def _unrecoverable(self, record: OperationRecord, exc: PicStoreError) -> None:
        done = ", ".join(entry.step for entry in record.journal) or "none"
        reason = (
            f"the installer stopped mid-way and {exc.message}: the steps it had done ({done}) "
            "were not rolled back; remove the service to clean up"
        )
        log.error("operation_unrecoverable", dead_operation=record.operation_id, detail=reason)
        await bodies.mark_unrecoverable(self.deps, self.ops, record, reason)
        await self.ops.finish(record, OpStatus.failed, reason, exc.key, keep_journal=True)
        OPERATIONS.labels(record.kind.value, record.status.value).inc()
        await self.ops.result(record)

    async def reap(self) -> list[str]:
        """Take over the locks whose holder stopped renewing; roll back their operations."""
        reaped = []
        for service_id, lock in (await self.ops.expired_locks()).items():
            try:
                await self.ops.acquire(service_id, lock.operation_id)
            except Retry:  # another replica got there first
                continue
            async with self.ops.holding(service_id, lock.operation_id):
                await self.recover(lock.operation_id)
            reaped.append(lock.operation_id)
        return reaped


def _failures(ctx: OpContext, undo_failures: list[UndoFailure]) -> list[CompensationFailure]:
    return [CompensationFailure(step=u.step, reason=ctx.mask(u.reason)) for u in undo_failures]


def _incomplete(failures: list[CompensationFailure]) -> str:
    """What the result says of a rollback that could not undo every step."""
    return "; the rollback was incomplete: " + _not_undone(failures) if failures else ""


def _not_undone(failures: list[CompensationFailure]) -> str:
    return "; ".join(f"{f.step} was not undone ({f.reason})" for f in failures)


__all__ = ["InstallerManager", "ServiceState"]
