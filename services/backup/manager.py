"""The backup service's verbs: back up, restore, verify, list; each command's outcome as a
result, with metrics. Commands run side by side; one service's backup and restore never
overlap (a lock per service), and one service's slow backup holds up no other's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import structlog

from services.backup.deps import Deps
from services.backup.description import BackupManifest
from services.backup.errors import BackupError, PartialBackupError, VerifyFailedError
from services.backup.layout import checked
from services.backup.maker import Maker
from services.backup.metrics import LAST_GOOD_AGE, RUNS, SECONDS
from services.backup.restore import Restorer
from services.backup.verify import Verifier
from shared.errors import PicStoreError
from shared.events.backups import BackupAction, BackupResultPayload
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord

log = structlog.get_logger("backup")


# A command's message, the backups it made or used, and its warnings.
Outcome = tuple[str, list[str], list[str]]


def with_warnings(message: str, warnings: list[str]) -> str:
    """The message a person reads (`pic-store backup` prints it), its warnings named."""
    return message + "".join(f"; warning: {w}" for w in warnings)


def good(manifest: BackupManifest) -> bool:
    return manifest.finished is not None and (manifest.verified is None or manifest.verified.ok)


def to_delete(backups: list[BackupManifest], keep: int) -> list[str]:
    """Backups every one of whose services has `keep` newer good ones (oldest first)."""
    newer: dict[str, int] = {}
    doomed = []
    for manifest in sorted(backups, key=lambda m: m.started, reverse=True):
        sids = [e.service_id for e in manifest.services]
        if sids and all(newer.get(sid, 0) >= keep for sid in sids):
            doomed.append(manifest.backup_id)
            continue
        if good(manifest):
            for sid in sids:
                newer[sid] = newer.get(sid, 0) + 1
    return list(reversed(doomed))


class BackupManager:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.maker = Maker(deps, self.service_lock)
        self.restorer = Restorer(deps, self.service_lock)
        self.verifier = Verifier(deps)
        self.locks: dict[str, asyncio.Lock] = {}
        self.running: dict[tuple[BackupAction, str], asyncio.Future[BackupResultPayload]] = {}

    @asynccontextmanager
    async def service_lock(self, service_id: str) -> AsyncIterator[None]:
        lock = self.locks.setdefault(service_id, asyncio.Lock())
        async with lock:
            yield

    async def with_storage(self, service_id: str | None) -> list[ServiceRecord]:
        if service_id is not None:
            checked("service id", service_id)
            found = await self.deps.services.get(service_id)
            if found is None or found.value.state != ServiceState.installed:
                raise BackupError(f"{service_id} is not an installed service")
            return [found.value]
        records = [r.value for r in (await self.deps.services.items()).values()]
        return [
            r
            for r in sorted(records, key=lambda r: r.service_id)
            if r.state == ServiceState.installed and r.manifest.get("has_storage")
        ]

    async def backup(
        self, operation_id: str, service_id: str | None, reason: str
    ) -> BackupResultPayload:
        async def work() -> Outcome:
            checked("operation id", operation_id)
            done = [m for m in self.deps.backups.all() if m.operation_id == operation_id]
            if done:
                made = done[0]
                message = f"backup {made.backup_id} was made by this command"
                return with_warnings(message, made.warnings), [made.backup_id], made.warnings
            services = await self.with_storage(service_id)
            if not services:
                return "no installed service has storage: nothing to back up", [], []
            try:
                made = await self.maker.make(operation_id, services, reason)
            except PartialBackupError:
                self.prune()
                raise
            pruned = self.prune()
            sids = ", ".join(e.service_id for e in made.services)
            note = f"; {len(pruned)} old backup(s) removed" if pruned else ""
            message = f"backup {made.backup_id} of {sids} is complete{note}"
            return with_warnings(message, made.warnings), [made.backup_id], made.warnings

        return await self._once(BackupAction.backup, operation_id, work)

    async def restore(
        self, operation_id: str, backup_id: str, service_id: str | None, replace: bool
    ) -> BackupResultPayload:
        async def work() -> Outcome:
            checked("operation id", operation_id)
            done = await self.restorer.restore(operation_id, backup_id, service_id, replace)
            return "; ".join(done), [backup_id], []

        return await self._once(BackupAction.restore, operation_id, work)

    async def verify(self, operation_id: str, backup_id: str) -> BackupResultPayload:
        async def work() -> Outcome:
            checked("operation id", operation_id)
            outcome = await self.verifier.verify(operation_id, backup_id)
            if not outcome.ok:
                raise VerifyFailedError(f"backup {backup_id} failed verification: {outcome.reason}")
            return f"backup {backup_id} restores and matches its checksums", [backup_id], []

        return await self._once(BackupAction.verify, operation_id, work)

    async def _once(
        self,
        action: BackupAction,
        operation_id: str,
        work: Callable[[], Awaitable[Outcome]],
    ) -> BackupResultPayload:
        """A command delivered again while it still runs (commands run side by side) waits
        for the same outcome instead of doing the work twice."""
        key = (action, operation_id)
        running = self.running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        task = asyncio.ensure_future(self._run(action, work))
        self.running[key] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self.running.pop(key, None)
            else:
                task.add_done_callback(lambda _: self.running.pop(key, None))

    async def _run(
        self, action: BackupAction, work: Callable[[], Awaitable[Outcome]]
    ) -> BackupResultPayload:
        started = time.monotonic()
        try:
            message, backups, warnings = await work()
        except PicStoreError as exc:
            RUNS.labels(action.value, "failed").inc()
            log.warning("backup_command_failed", action=action.value, reason=exc.message)
            made = exc.made if isinstance(exc, PartialBackupError) else None
            made = made if isinstance(made, BackupManifest) else None
            return BackupResultPayload(
                action=action,
                ok=False,
                message=with_warnings(exc.message, made.warnings if made else []),
                error_key=exc.key,
                backups=[made.backup_id] if made else [],
                warnings=made.warnings if made else [],
            )
        finally:
            SECONDS.labels(action.value).observe(time.monotonic() - started)
            self.observe_ages()
        RUNS.labels(action.value, "ok").inc()
        return BackupResultPayload(
            action=action, ok=True, message=message, backups=backups, warnings=warnings
        )

    def prune(self) -> list[str]:
        doomed = to_delete(self.deps.backups.all(), self.deps.config().keep)
        for backup_id in doomed:
            self.deps.backups.delete(backup_id)
        return doomed

    def observe_ages(self) -> None:
        now = datetime.now(UTC)
        newest: dict[str, datetime] = {}
        for manifest in self.deps.backups.all():
            if good(manifest) and manifest.finished is not None:
                for entry in manifest.services:
                    newest[entry.service_id] = max(
                        manifest.finished, newest.get(entry.service_id, manifest.finished)
                    )
        for sid, when in newest.items():
            LAST_GOOD_AGE.labels(sid).set((now - when).total_seconds())
