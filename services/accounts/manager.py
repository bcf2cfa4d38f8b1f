"""The accounts service's verbs: provision a service (apply), withdraw it (compensate), add
and remove peers, and reconcile what each container holds with the state.

Every change goes through one lock: the state is read, the container asked, the state
written, with nothing else in between. Credentials are made once, stored encrypted before
the container hears of them, and never logged. Each service is a tenant that may be
hostile: whatever its container answers fails that service's accounts only (the reason is
logged once and `pic_accounts_service_failing` says so); the others still converge.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import structlog

from services.accounts.errors import AccountsError, ManagerError
from services.accounts.managers import AccountManager, Calls, manager_for
from services.accounts.managers.http import HttpManager
from services.accounts.metrics import ACCOUNTS, CORRECTIONS, FAILING, PEERS
from services.accounts.state import AccountRecord, AccountState, PeerRecord, State, Target
from services.accounts.targets import target_of
from services.accounts.vault import Credentials, Vault, generate
from shared.bus import TypedBucket
from shared.docker.engine import DockerEngine
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.messages import ServiceState
from shared.installed import ServiceRecord
from shared.manifest.const import ACCOUNTS_API_SECRET

log = structlog.get_logger("accounts")
UPGRADING = (ServiceState.installing, ServiceState.reconfiguring)


class AccountsManager:
    def __init__(
        self,
        state: State,
        vault: Vault,
        engine: DockerEngine,
        services: TypedBucket[ServiceRecord],
        calls: Calls,
        start_window: float,
        data_dir: Path | None = None,
    ) -> None:
        self.state = state
        self.data_dir = data_dir  # where the cell's CA is (its public root only is read)
        self.vault = vault
        self.engine = engine
        self.services = services
        self.calls = calls
        self.start_window = start_window
        self.lock = asyncio.Lock()
        self._problems: dict[str, str] = {}
        self._counted: set[str] = set()
        self._watched: set[str] = set()  # services with a FAILING gauge

    # -- saga steps ------------------------------------------------------------------------

    async def apply(self, request: StepRequest) -> dict[str, str]:
        """Every current peer gets an account; an existing one counts as done."""
        payload, sid = request.payload, request.service_id
        target = target_of(
            sid, payload.manifest, payload.addresses, payload.service_ip, payload.domain or ""
        )
        if payload.sealed:
            handed = self.vault.open_sealed(payload.sealed, f"the account-API secret of {sid}")
            if handed.get(ACCOUNTS_API_SECRET):
                target.api_secret = self.vault.lock_text(handed[ACCOUNTS_API_SECRET])
        async with self.lock:
            before = await self.state.targets.get(sid)
            if target.api_secret is None and before is not None:
                target.api_secret = before.value.api_secret
            await self.state.targets.put(sid, target)
            calls = self.calls.within(self.start_window)
            try:
                made = await self._provision(target, await self.state.present_peers(), calls)
                manager = self.manager_of(target, calls)
                if isinstance(manager, HttpManager):
                    await manager.refuses_strangers()
            except AccountsError:
                if before is None:  # a new service: leave nothing of it behind
                    await self._withdraw(target, self.calls.within(0))
                else:
                    await self.state.targets.put(sid, before.value)
                raise
        self._fine(sid)
        await self._count(sid)
        return {"accounts": str(made)}

    async def compensate(self, request: StepRequest) -> dict[str, str]:
        """Delete the service's accounts and forget it, unless an upgrade failed and the
        version still running keeps its accounts (the services bucket says it runs)."""
        sid = request.service_id
        record = await self.services.get(sid)
        async with self.lock:
            if record is not None and self._still_running(record.value):
                running = record.value
                kept = target_of(
                    sid,
                    running.manifest,
                    running.addresses,
                    running.service_ip,
                    request.payload.domain or "",
                )
                stored = await self.state.targets.get(sid)
                kept.api_secret = stored.value.api_secret if stored is not None else None
                await self.state.targets.put(sid, kept)
                return {"kept": f"the accounts of {sid} {running.version or ''}".strip()}
            stored = await self.state.targets.get(sid)
            if stored is None:
                return {"removed": "0"}
            removed = await self._withdraw(stored.value, self.calls.within(0))
        if sid in self._counted:
            ACCOUNTS.remove(sid)
            self._counted.discard(sid)
        self._problems.pop(sid, None)
        if sid in self._watched:
            FAILING.remove(sid)
            self._watched.discard(sid)
        return {"removed": str(removed)}

    @staticmethod
    def _still_running(record: ServiceRecord) -> bool:
        applied = record.applied_steps
        return (
            record.state in UPGRADING
            and bool(record.manifest.get("has_accounts"))
            and (applied is None or "accounts" in applied)
        )

    # -- peers -----------------------------------------------------------------------------

    async def peer_changed(self, peer: str, present: bool, when: datetime) -> None:
        """Record the change (an older one than what is known is ignored), then act on it;
        a container that cannot be reached now is left to the reconcile."""
        async with self.lock:
            known = await self.state.peers.get(peer)
            if known is not None and known.value.time > when:
                log.info("peer_change_stale", peer=peer, present=present)
                return
            await self.state.peers.put(peer, PeerRecord(name=peer, present=present, time=when))
            peers = await self.state.present_peers()
            PEERS.set(len(peers))
            for target in (await self.state.all_targets()).values():
                try:
                    await self._provision(target, peers, self.calls.within(0))
                except Exception as exc:  # this service only: the next ones still get theirs
                    self._note(target.service_id, exc)
                else:
                    self._fine(target.service_id)
        for sid in await self.state.all_targets():
            await self._count(sid)
        log.info("peer_added" if present else "peer_removed", peer=peer)

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self) -> dict[str, int]:
        """Create what is missing, make again what refuses the credentials held (a restored
        or replaced user store), delete what this service created for peers that are gone,
        forget accounts of services no longer provisioned; never touch the rest."""
        totals = {"created": 0, "reapplied": 0, "deleted": 0}
        async with self.lock:
            peers = await self.state.present_peers()
            PEERS.set(len(peers))
            targets = await self.state.all_targets()
            for key, record in (await self.state.accounts.items()).items():
                if record.value.service_id not in targets:
                    await self.state.accounts.kv.purge(key)
            for target in targets.values():
                try:
                    counts = await self._provision(
                        target, peers, self.calls.within(0), correcting=True
                    )
                except Exception as exc:  # this service only: the next ones still get theirs
                    self._note(target.service_id, exc)
                    continue
                self._fine(target.service_id)
                for kind, count in counts.items():
                    totals[kind] += count
        for kind, count in totals.items():
            if count:
                CORRECTIONS.labels(kind).inc(count)
        for sid in targets:
            await self._count(sid)
        if any(totals.values()):
            log.warning("reconciled", **totals)
        return totals

    # -- the work --------------------------------------------------------------------------

    async def _provision(
        self, target: Target, peers: list[str], calls: Calls, correcting: bool = False
    ) -> dict[str, int]:
        """Bring one service's accounts in line with `peers`: an account that exists but
        refuses the credentials held (wherever the manager can tell) is made again; one this
        service deleted (its peer removed) is deleted again when it comes back."""
        manager = self.manager_of(target, calls)
        listed = set(await manager.usernames())
        records = await self.state.accounts_of(target.service_id)
        created = deleted = 0
        held: dict[str, Credentials] = {}
        for peer in peers:
            record = records.get(peer)
            if record is not None and record.state is AccountState.removed:
                if peer in listed:  # ours, brought back by a restore: made anew below
                    await manager.delete(peer)
                    listed.discard(peer)
                record = None
            if record is None:
                fresh = generate(target.credentials)
                state = AccountState.foreign if peer in listed else AccountState.pending
                record = AccountRecord(
                    service_id=target.service_id,
                    peer=peer,
                    state=state,
                    sealed=self.vault.lock(fresh),
                )
                await self.state.save_account(record)  # before the container hears of it
                if state is AccountState.foreign:
                    log.warning("account_not_ours", service_id=target.service_id, peer=peer)
            if record.state is AccountState.foreign:
                continue
            if peer not in listed:
                await manager.create(peer, self.vault.unlock(record.sealed))
                created += record.state is AccountState.created  # it had gone missing
            else:
                held[peer] = self.vault.unlock(record.sealed)
            if record.state is not AccountState.created:
                await self.state.save_account(
                    record.model_copy(update={"state": AccountState.created})
                )
        for peer, record in records.items():
            if peer in peers:
                continue
            if record.state is AccountState.foreign:
                await self.state.drop_account(target.service_id, peer)
                continue
            if peer in listed:  # also when a restore brought a deleted account back
                await manager.delete(peer)
                deleted += 1
            if record.state is not AccountState.removed:
                gone = record.model_copy(update={"state": AccountState.removed, "sealed": ""})
                await self.state.save_account(gone)
        refused = await manager.rejected(held) if held else set()
        for peer in sorted(refused):
            await manager.create(peer, held[peer])
        if refused:
            log.warning("accounts_reapplied", service_id=target.service_id, count=len(refused))
        if correcting and created:
            log.warning("accounts_restored", service_id=target.service_id, count=created)
        return {"created": created, "reapplied": len(refused), "deleted": deleted}

    async def _withdraw(self, target: Target, calls: Calls) -> int:
        """Delete what this service created in the container (when it can still be reached)
        and forget the service."""
        removed = 0
        records = await self.state.accounts_of(target.service_id)
        try:
            manager = self.manager_of(target, calls)
            listed = await manager.usernames() if records else set()
            for peer, record in records.items():
                if record.state is not AccountState.foreign and peer in listed:
                    await manager.delete(peer)
                    removed += 1
        except (ManagerError, AccountsError) as exc:
            log.warning("accounts_not_deleted", service_id=target.service_id, reason=exc.message)
        for peer in records:
            await self.state.drop_account(target.service_id, peer)
        await self.state.drop_target(target.service_id)
        return removed

    async def _count(self, sid: str) -> None:
        records = await self.state.accounts_of(sid)
        ACCOUNTS.labels(sid).set(sum(r.state is AccountState.created for r in records.values()))
        self._counted.add(sid)

    def manager_of(self, target: Target, calls: Calls) -> AccountManager:
        secret = self.vault.unlock_text(target.api_secret) if target.api_secret else None
        return manager_for(target, calls, self.engine, secret)

    def _note(self, sid: str, exc: Exception) -> None:
        if isinstance(exc, PicStoreError):
            reason = exc.message
        else:  # a bug met on this service's input: said once, with its trace
            reason = f"internal error ({type(exc).__name__})"
            if self._problems.get(sid) != reason:
                log.exception("accounts_crashed", service_id=sid)
        FAILING.labels(sid).set(1)
        self._watched.add(sid)
        if self._problems.get(sid) != reason:  # once per new reason
            log.warning("accounts_not_in_line", service_id=sid, reason=reason)
            self._problems[sid] = reason

    def _fine(self, sid: str) -> None:
        FAILING.labels(sid).set(0)
        self._watched.add(sid)
        if self._problems.pop(sid, None) is not None:
            log.info("accounts_in_line", service_id=sid)
