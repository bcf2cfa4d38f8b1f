"""When to reconcile: at start-up, when a service changed state, when Caddy lost our config
(restarted, wiped: one cheap request tells), after a failed run, and every period."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from services.router.errors import DnsError, RouterError
from services.router.manager import RouterManager
from services.router.metrics import CORRECTIONS, DNS_RECORDS, RECONCILIATIONS, ROUTES
from services.router.reconcile import Report
from services.router.settings import RouterSettings
from shared.errors import PicStoreError
from shared.events import RoutesReconciled, new_operation_id
from shared.events.messages import RoutesReconciledPayload

log = structlog.get_logger("router")


Publish = Callable[[RoutesReconciled], Awaitable[None]]


class Upkeep:
    def __init__(
        self, manager: RouterManager, settings: RouterSettings, publish: Publish | None = None
    ) -> None:
        self.manager = manager
        self.settings = settings
        self._publish = publish
        self._problems: tuple[str, ...] = ()
        self.caddy_ok = False
        self.dns_ok = False
        self.failed = False
        self._reason = ""
        self._wake = asyncio.Event()
        self._trigger = "start-up"

    def poke(self, trigger: str) -> None:
        self._trigger = trigger
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.run_once("start-up")
        due = time.monotonic() + self.settings.reconcile_period
        while not stop.is_set():
            await self._sleep(
                stop, max(0.0, min(self.settings.probe_period, due - time.monotonic()))
            )
            if stop.is_set():
                return
            trigger = await self._due_trigger(due)
            if trigger is not None:
                await self.run_once(trigger)
                due = time.monotonic() + self.settings.reconcile_period

    async def run_once(self, trigger: str) -> Report | None:
        try:
            report = await self.manager.reconcile()
        except RouterError as exc:
            self.caddy_ok = False
            self._fail(trigger, exc.message)
            return None
        except DnsError as exc:
            self.caddy_ok, self.dns_ok = True, False  # Caddy was reconciled, DNS failed
            self._fail(trigger, exc.message)
            return None
        except Exception as exc:
            if not isinstance(exc, PicStoreError):
                log.exception("reconcile_crashed", trigger=trigger)
            self.caddy_ok = self.dns_ok = False
            self._fail(trigger, getattr(exc, "message", type(exc).__name__))
            return None
        self.failed, self.caddy_ok, self.dns_ok, self._reason = False, True, True, ""
        RECONCILIATIONS.labels(trigger, "ok").inc()
        counts = report.counts()
        for kind, count in counts.items():
            if count:
                CORRECTIONS.labels(kind).inc(count)
        ROUTES.set(len(report.desired.routes))
        DNS_RECORDS.set(sum(len(names) for names in report.desired.records.values()))
        if report.changed:
            c = report.caddy
            log.warning(
                "reconciled",
                trigger=trigger,
                **{k: v for k, v in counts.items() if v},
                added=list(c.added),
                replaced=list(c.replaced),
                removed=list(c.removed),
                dns_set=list(report.dns_set),
                dns_removed=list(report.dns_removed),
            )
        for problem in report.problems:
            log.warning("reconcile_problem", trigger=trigger, problem=problem)
        await self._announce(trigger, report)
        return report

    async def _announce(self, trigger: str, report: Report) -> None:
        """Publish what was corrected, and problems when they change (not every period)."""
        if self._publish is None or not (report.changed or report.problems != self._problems):
            return
        self._problems = report.problems
        event = RoutesReconciled(
            operation_id=new_operation_id(),
            payload=RoutesReconciledPayload(
                trigger=trigger, corrections=report.corrections(), problems=list(report.problems)
            ),
        )
        try:
            await self._publish(event)
        except Exception as exc:  # the bus may be reconnecting: the log has it all
            log.warning("reconcile_event_not_published", reason=type(exc).__name__)

    async def _due_trigger(self, due: float) -> str | None:
        if self._wake.is_set():
            self._wake.clear()
            return self._trigger
        if time.monotonic() >= due:
            return "period"
        if self.failed:
            # Caddy answering again after it did not: it restarted, most likely empty.
            return "retry" if self.caddy_ok else "caddy-restart"
        try:
            holds = await self.manager.caddy_holds_our_config()
        except PicStoreError as exc:
            self.caddy_ok, self.failed = False, True  # reconcile once it answers again
            self._note("probe", exc.message)
            return None
        return None if holds else "caddy-restart"

    def _fail(self, trigger: str, reason: str) -> None:
        self.failed = True
        RECONCILIATIONS.labels(trigger, "failed").inc()
        self._note(trigger, reason)

    def _note(self, trigger: str, reason: str) -> None:
        if reason != self._reason:  # once per new reason, not at every retry
            log.warning("reconcile_failed", trigger=trigger, reason=reason)
            self._reason = reason

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
