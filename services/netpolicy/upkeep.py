"""When to reconcile: at start-up, when a service changed state, and every period. Each
correction is logged, counted by kind, and published on `netpolicy.reconciled`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

import structlog

from services.netpolicy.manager import NetpolicyManager
from services.netpolicy.metrics import (
    CORRECTIONS,
    EGRESS_SERVICES,
    RECONCILIATIONS,
    REDIRECTS,
    RULES,
)
from services.netpolicy.policy import DEFAULT
from services.netpolicy.reconcile import Report, reconcile_once
from shared.errors import PicStoreError
from shared.events import new_operation_id
from shared.events.netpolicy import NetpolicyReconciled, NetpolicyReconciledPayload
from shared.installed import ServiceRecord

log = structlog.get_logger("netpolicy")
Publish = Callable[[NetpolicyReconciled], Awaitable[None]]
Records = Callable[[], Awaitable[Mapping[str, ServiceRecord]]]


class Upkeep:
    def __init__(
        self,
        manager: NetpolicyManager,
        records: Records,
        period: float,
        publish: Publish | None = None,
    ) -> None:
        self.manager = manager
        self.records = records
        self.period = period
        self._publish = publish
        self._problems: list[str] = []
        self._reason = ""
        self.ok = False
        self._wake = asyncio.Event()
        self._trigger = "start-up"

    def poke(self, trigger: str) -> None:
        self._trigger = trigger
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        trigger = "start-up"
        while not stop.is_set():
            await self.run_once(trigger)
            trigger = await self._sleep(stop)

    async def run_once(self, trigger: str) -> Report | None:
        try:
            report = await reconcile_once(self.manager, await self.records())
        except Exception as exc:
            if not isinstance(exc, PicStoreError):
                log.exception("reconcile_crashed", trigger=trigger)
            reason = getattr(exc, "message", type(exc).__name__)
            RECONCILIATIONS.labels(trigger, "failed").inc()
            self.ok = False
            if reason != self._reason:  # once per new reason, not at every retry
                log.warning("reconcile_failed", trigger=trigger, reason=reason)
                self._reason = reason
            return None
        self.ok, self._reason = True, ""
        RECONCILIATIONS.labels(trigger, "ok").inc()
        for kind, count in report.counts.items():
            CORRECTIONS.labels(kind).inc(count)
        policies = report.policies.values()
        RULES.set(sum(len(p.firewall) for p in policies))
        REDIRECTS.set(sum(len(p.redirects) for p in policies))
        EGRESS_SERVICES.set(sum(p.egress != DEFAULT for p in policies))
        if report.changed:
            log.warning(
                "reconciled",
                trigger=trigger,
                **dict(report.counts),
                corrections=[f"{c.service_id}: {c.what}" for c in report.corrections],
            )
        for problem in report.problems:
            if problem not in self._problems:
                log.warning("reconcile_problem", trigger=trigger, problem=problem)
        await self._announce(trigger, report)
        return report

    async def _announce(self, trigger: str, report: Report) -> None:
        """Publish what was corrected, and problems when they change (not every period)."""
        if self._publish is None or not (report.changed or report.problems != self._problems):
            self._problems = report.problems
            return
        self._problems = report.problems
        event = NetpolicyReconciled(
            operation_id=new_operation_id(),
            payload=NetpolicyReconciledPayload(
                trigger=trigger, corrections=report.corrections, problems=report.problems
            ),
        )
        try:
            await self._publish(event)
        except Exception as exc:  # the bus may be reconnecting: the log has it all
            log.warning("reconcile_event_not_published", reason=type(exc).__name__)

    async def _sleep(self, stop: asyncio.Event) -> str:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=self.period, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
        if self._wake.is_set():
            self._wake.clear()
            return self._trigger
        return "period"
