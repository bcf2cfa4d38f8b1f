"""The installer's verbs: install, reconfigure, remove, and recovery of dead operations."""

from __future__ import annotations

import structlog

from services.installer import bodies
from services.installer.context import Deps, OpContext
from services.installer.lifecycle import install_steps, reconfigure_steps, remove_steps
from services.installer.metrics import OPERATIONS
from services.installer.operations import Operations, new_record
from services.installer.saga import Step, StepFailed, compensate
from services.installer.state import OperationRecord, OpStatus
from services.installer.upgrade_guard import restore_after_failed_upgrade
from shared.bus import Retry
from shared.config import CellConfig
from shared.errors import PicStoreError
from shared.events import InstallCommand, Plan, ReconfigureCommand, RemoveCommand
from shared.events.messages import OperationKind, ServiceState, StepStatus
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
                if existing is not None and existing.journal:
                    await self.recover(op_id)
                record = new_record(op_id, kind, service_id, self.deps.instance)
                await self.ops.save(record)
                await self._run(command, record)
        finally:
            structlog.contextvars.unbind_contextvars("operation_id", "service_id")

    async def _run(self, command: Command, record: OperationRecord) -> None:
        """Run the body; whatever happens, the service's state is told, then the result."""
        ctx = OpContext(
            deps=self.deps,
            operation_id=record.operation_id,
            kind=record.kind,
            service_id=record.service_id,
            cell=CellConfig(),
        )
        plan: Plan | None = None
        try:
            ctx.cell = CellConfig.load(self.deps.settings.data_dir)
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
            await self._failed(ctx, record, exc.message, exc.error_key)
        except ManifestInvalidError as exc:
            await self.ops.finish(record, OpStatus.failed, ctx.mask(exc.message), exc.key)
        except PicStoreError as exc:
            await self._failed(ctx, record, exc.message, exc.key)
        except Exception as exc:
            log.exception("operation_crashed")
            await self._failed(
                ctx,
                record,
                f"internal error ({type(exc).__name__}); see the installer's log",
                "internal_error",
            )
        OPERATIONS.labels(record.kind.value, record.status.value).inc()
        log.info("operation_finished", status=record.status.value, detail=record.message)
        await self.ops.result(record, plan)

    async def _failed(self, ctx: OpContext, record: OperationRecord, reason: str, key: str) -> None:
        # The service's state first: a crash between the two leaves the operation open,
        # and its recovery tells the state again.
        reason = ctx.mask(reason)
        await bodies.after_failure(ctx, self.ops, record, reason)
        reason += await restore_after_failed_upgrade(ctx)
        await self.ops.finish(record, OpStatus.failed, reason, key)

    async def recover(self, operation_id: str) -> None:
        """Roll back what a dead attempt journaled; mark it interrupted."""
        record = await self.ops.get(operation_id)
        if record is None or record.status.final:
            return
        if record.journal:
            ctx = await bodies.context_from_snapshot(self.deps, record)
            steps: list[Step[OpContext]]
            if record.kind == OperationKind.install:
                steps = install_steps(ctx)
            elif record.kind == OperationKind.reconfigure:
                steps = reconfigure_steps(ctx)
            else:
                steps = remove_steps(ctx)

            async def report(step: str, status: StepStatus, i: int, n: int, msg: str) -> None:
                await self.ops.progress(record, step, status, i, n, ctx.mask(msg))

            done = [(entry.step, entry.data) for entry in record.journal]
            await compensate(steps, done, ctx, report)
        reason = "interrupted: the installer stopped mid-way; what it had done was rolled back"
        record.journal = []
        await self.ops.finish(record, OpStatus.interrupted, reason)
        await bodies.mark_interrupted(self.deps, self.ops, record, reason)
        log.warning("operation_recovered", dead_operation=operation_id)

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


__all__ = ["InstallerManager", "ServiceState"]
