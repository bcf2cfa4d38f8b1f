"""The saga: declared steps, each with its compensation, run in order and journaled.

Each finished step is written to the operation's journal (in the KV bucket) before the next
starts, so a crashed installer, or another replica, can compensate exactly what was done.
A failed step rolls back every journaled step in reverse order.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from services.installer.metrics import STEP_SECONDS
from shared.errors import PicStoreError
from shared.events.messages import StepStatus

C = TypeVar("C")
log = structlog.get_logger("saga")

StepData = dict[str, Any]


class StepSkipped(Exception):
    """Raised by a step that has nothing to do here; the reason is shown as progress."""


@dataclass(frozen=True)
class Step(Generic[C]):
    """One step: `apply` returns what `compensate` needs to undo it."""

    name: str
    title: str
    apply: Callable[[C], Awaitable[StepData]]
    compensate: Callable[[C, StepData], Awaitable[None]] | None = None


Report = Callable[[str, StepStatus, int, int, str], Awaitable[None]]
Journal = Callable[[str, StepData], Awaitable[None]]


class StepFailed(PicStoreError):
    key = "step_failed"

    def __init__(self, step: str, reason: str, key: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.error_key = key


async def run(
    steps: list[Step[C]], ctx: C, kind: str, report: Report, journal: Journal
) -> list[tuple[str, StepData]]:
    """Run the steps; on failure compensate what was done and raise StepFailed."""
    done: list[tuple[str, StepData]] = []
    total = len(steps)
    for index, step in enumerate(steps, start=1):
        await report(step.name, StepStatus.started, index, total, step.title)
        started = time.monotonic()
        try:
            data = await step.apply(ctx)
        except StepSkipped as skipped:
            await report(step.name, StepStatus.skipped, index, total, str(skipped))
            continue
        except Exception as exc:
            if isinstance(exc, PicStoreError):
                reason, key = exc.message, exc.key
            else:
                reason, key = f"{type(exc).__name__}: {exc}", "internal_error"
                log.exception("step_crashed", step=step.name)
            await report(step.name, StepStatus.failed, index, total, reason)
            await compensate(steps, done, ctx, report)
            raise StepFailed(step.name, reason, key) from exc
        finally:
            STEP_SECONDS.labels(kind, step.name).observe(time.monotonic() - started)
        done.append((step.name, data))
        await journal(step.name, data)
        await report(step.name, StepStatus.done, index, total, "")
    return done


async def compensate(
    steps: list[Step[C]], done: list[tuple[str, StepData]], ctx: C, report: Report
) -> list[str]:
    """Undo journaled steps in reverse order; a failing compensation is logged, not fatal."""
    by_name = {s.name: s for s in steps}
    problems = []
    total = len(done)
    for index, (name, data) in enumerate(reversed(done), start=1):
        step = by_name.get(name)
        if step is None or step.compensate is None:
            continue
        try:
            await step.compensate(ctx, data)
        except Exception as exc:
            log.exception("compensation_failed", step=name)
            problems.append(f"{name}: {exc}")
            await report(name, StepStatus.failed, index, total, f"rollback failed: {exc}")
            continue
        await report(name, StepStatus.rolled_back, index, total, "")
    return problems
