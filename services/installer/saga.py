"""The saga: declared steps, each with its compensation, run in order and journaled.

Each finished step is written to the operation's journal (in the KV bucket) before the next
starts, so a crashed installer, or another replica, can compensate exactly what was done.
A failed step rolls back every journaled step in reverse order; a compensation that fails
does not stop the others, and the failure says which ones failed (the rollback is incomplete).

A step's `apply` takes the saga's context (`Deploying` for an install or reconfigure); its
`compensate` takes only the operation's `OpContext` and the step's journal data: all that a
recovered operation, rebuilt from its snapshot, has.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog

from services.installer.context import OpContext
from services.installer.metrics import STEP_SECONDS
from shared.errors import PicStoreError
from shared.events.messages import StepStatus

# A step for a context takes any more specific one: Step[OpContext] is a Step[Deploying].
C_contra = TypeVar("C_contra", bound=OpContext, contravariant=True)
C = TypeVar("C", bound=OpContext)
log = structlog.get_logger("saga")

StepData = dict[str, Any]


class StepSkipped(Exception):
    """Raised by a step that has nothing to do here; the reason is shown as progress."""


@dataclass(frozen=True)
class Step(Generic[C_contra]):
    """One step: `apply` returns what `compensate` needs to undo it."""

    name: str
    title: str
    apply: Callable[[C_contra], Awaitable[StepData]]
    compensate: Callable[[OpContext, StepData], Awaitable[None]] | None = None


Report = Callable[[str, StepStatus, int, int, str], Awaitable[None]]
Journal = Callable[[str, StepData], Awaitable[None]]


class RollbackIncompleteError(PicStoreError):
    """A rollback could not undo every step: the operation's `rollback_failures` name each
    step and why (what is left needs a look, or a remove)."""

    key = "rollback_incomplete"


@dataclass(frozen=True)
class UndoFailure:
    """A compensation that failed: the step it should have undone, and why (unmasked)."""

    step: str
    reason: str


class StepFailed(PicStoreError):
    """A saga step failed: carries the step's own key as the operation's `error_key` (this
    class's key is not reported)."""

    key = "step_failed"

    def __init__(
        self, step: str, reason: str, key: str, undo_failures: Sequence[UndoFailure] = ()
    ) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.error_key = key
        self.undo_failures = list(undo_failures)  # empty: the rollback undid every step


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PicStoreError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


async def run(
    steps: Sequence[Step[C]], ctx: C, kind: str, report: Report, journal: Journal
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
            undo_failures = await compensate(steps, done, ctx, report)
            raise StepFailed(step.name, reason, key, undo_failures) from exc
        finally:
            STEP_SECONDS.labels(kind, step.name).observe(time.monotonic() - started)
        done.append((step.name, data))
        await journal(step.name, data)
        await report(step.name, StepStatus.done, index, total, "")
    return done


async def compensate(
    steps: Sequence[Step[Any]], done: list[tuple[str, StepData]], ctx: OpContext, report: Report
) -> list[UndoFailure]:
    """Undo journaled steps in reverse order; a failing compensation does not stop the
    others: it is reported, and returned (the rollback is incomplete)."""
    by_name = {s.name: s for s in steps}
    problems: list[UndoFailure] = []
    total = len(done)
    for index, (name, data) in enumerate(reversed(done), start=1):
        step = by_name.get(name)
        if step is None or step.compensate is None:
            continue
        try:
            await step.compensate(ctx, data)
        except Exception as exc:
            log.exception("compensation_failed", step=name)
            problems.append(UndoFailure(name, _reason(exc)))
            await report(name, StepStatus.failed, index, total, f"rollback failed: {_reason(exc)}")
            continue
        await report(name, StepStatus.rolled_back, index, total, "")
    return problems
