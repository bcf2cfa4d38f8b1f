"""The router's verbs: route a service (apply), withdraw it (compensate), reconcile, report.

Every request is checked again here, whoever checked it before: the manifest is parsed with
the cell's rules, and each host and upstream goes through routes.py before it reaches Caddy
or DNS. Changes never interleave, whichever router replica makes them: each holds the leased
lock `caddy` in the cell's `pic_router_lock` bucket. `apply` and `withdraw` take Caddy and
DNS from any state to the wanted one, so a redelivered request changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import structlog

from services.router.desired import claimed_elsewhere, hostname_records, service_routes
from services.router.dns import checked_records, records_for
from services.router.errors import HostTakenError, InvalidRouteError, RouterError
from services.router.parts import Parts, PartsCache
from services.router.reconcile import Report, ensure_tls, reconcile_once
from services.router.routes import Route, ServiceRoutes, diff, service_of
from services.router.status import build_report
from shared.bus import LeaseLocks, TypedBucket
from shared.config import CellConfig
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.routes import RoutesReport
from shared.installed import ServiceRecord
from shared.manifest import ValidationOptions, parse_manifest

log = structlog.get_logger("router")
LOCK_KEY = "caddy"
LOCK_LEASE = 15.0  # renewed every 5 s while held; a dead holder blocks others this long
LOCK_WAIT = 40.0  # under the installer's step timeout, so a busy router gives a reason
Options = Callable[[CellConfig], ValidationOptions]


class RouterManager:
    def __init__(
        self,
        parts: PartsCache,
        services: TypedBucket[ServiceRecord],
        options: Options,
        locks: LeaseLocks,
    ) -> None:
        self.parts = parts
        self.services = services
        self.options = options
        self.locks = locks

    def _exclusive(self, operation_id: str) -> AbstractAsyncContextManager[object]:
        return self.locks.waiting(LOCK_KEY, operation_id, LOCK_WAIT)

    async def apply(self, request: StepRequest) -> dict[str, str]:
        sid, payload = request.service_id, request.payload
        parts = await self.parts.current()
        config = parts.config
        manifest = parse_manifest(payload.manifest, self.options(config))
        if manifest.id != sid:
            raise InvalidRouteError(f"the manifest is of {manifest.id!r}, not {sid!r}")
        service = service_routes(
            sid,
            payload.manifest,
            config.domain,
            config.router.upstream_mode.value,
            payload.service_ip,
            payload.addresses,
        )
        routed = service.hosts if service is not None else ()
        # `hostnames`: DNS records at the service's own IP, no Caddy route.
        direct = hostname_records(sid, payload.manifest, config.domain, payload.service_ip, routed)
        if service is None and not direct:
            return {"routes": "0"}
        service = service or ServiceRoutes(sid, ())
        records = {**records_for(service, config.cell_address), **direct}
        checked_records(sid, records)  # before anything changes
        wanted = service.routes()
        async with self._exclusive(request.operation_id):
            await self._prepare(parts)
            actual = await parts.caddy.list_routes()
            holders = {k: r.value for k, r in (await self.services.items()).items()}
            reason = claimed_elsewhere(service, actual, holders, config.domain, list(direct))
            if reason:
                raise HostTakenError(reason)
            before = {str(r["@id"]): r for r in actual if service_of(r) == sid}
            try:
                plan = diff(wanted, list(before.values()))
                for rid in plan.remove:
                    await parts.caddy.remove_route(rid)
                for route in (*plan.replace, *plan.add):
                    await parts.caddy.put_route(route)
                await parts.dns.set_records(sid, records)
            except PicStoreError:
                await self._restore(parts, before, wanted)
                raise
        details = {
            "routes": str(len(wanted)),
            "hosts": " ".join(service.hosts),
            "address": config.cell_address,
        }
        if direct:
            details["hostnames"] = " ".join(f"{h}={a}" for h, a in direct.items())
        return details

    async def withdraw(self, service_id: str, operation_id: str) -> dict[str, str]:
        """Remove the service's routes and records; what is already gone is fine."""
        parts = await self.parts.current()
        problems: list[str] = []
        removed: list[str] = []
        async with self._exclusive(operation_id):
            try:
                await parts.caddy.ensure_server()
                for route in await parts.caddy.list_routes():
                    if service_of(route) == service_id:
                        await parts.caddy.remove_route(str(route["@id"]))
                        removed.append(str(route["@id"]))
            except RouterError as exc:
                problems.append(exc.message)
            try:
                await parts.dns.remove(service_id)
            except PicStoreError as exc:
                problems.append(exc.message)
        if problems:
            raise RouterError("; ".join(problems))
        return {"removed_routes": " ".join(removed)}

    async def reconcile(self) -> Report:
        parts = await self.parts.current()
        async with self._exclusive(f"reconcile-{uuid.uuid4().hex[:12]}"):
            records = {k: r.value for k, r in (await self.services.items()).items()}
            return await reconcile_once(parts, records)

    async def caddy_holds_our_config(self) -> bool:
        """One cheap request: False when Caddy lost our config (a restart, a wipe)."""
        parts = await self.parts.current()
        return await parts.caddy.get_route("pic-store-fallback") is not None

    async def report(self) -> RoutesReport:
        parts = await self.parts.current()
        records = {k: r.value for k, r in (await self.services.items()).items()}
        return await build_report(parts, records)

    async def _prepare(self, parts: Parts) -> None:
        if await parts.caddy.ensure_server():
            log.warning("caddy_server_created", server=parts.caddy.server)
        await parts.caddy.ensure_fallback(await parts.caddy.list_routes())
        await ensure_tls(parts.caddy, parts.tls)

    async def _restore(
        self, parts: Parts, before: dict[str, Route], wanted: dict[str, Route]
    ) -> None:
        """Undo a half-done apply: the service's routes as they were before it."""
        try:
            for rid in wanted:
                if rid not in before:
                    await parts.caddy.remove_route(rid)
            for route in before.values():
                await parts.caddy.put_route(route)
        except PicStoreError as exc:
            # The next reconciliation puts right what is left.
            log.warning("restore_failed", reason=exc.message)
