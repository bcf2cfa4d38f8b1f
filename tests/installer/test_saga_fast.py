"""The installer's saga, fast: the real step table, steps, compensations, manager and recovery
on in-memory fakes of the buckets, the bus, the engine and Compose (tests/installer/fakes.py).

- every step failing in turn: each earlier step is compensated, in reverse; no later one runs
- a compensation failing: the result says the rollback was incomplete and names the step
- a crash right after each journal write: a restarted installer rolls back from the snapshot
  model and finishes the redelivered command (or, reaped, leaves the service failed)
- a snapshot that does not parse: the operation is reported failed with the reason
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from services.installer import bodies, lifecycle
from services.installer.context import OpContext
from services.installer.operations import Operations
from services.installer.saga import Step, StepFailed, StepSkipped, run
from services.installer.state import OperationRecord, OpStatus, Snapshot
from shared.bus import Lease
from shared.errors import OperationError
from shared.events import InstallCommand, OperationResult, ProgressEvent
from shared.events.messages import InstallPayload, ServiceState
from tests.installer.fakes import SECRET, SERVICE, Cell, use_fake_renderer

pytestmark = pytest.mark.unit

# The install of the test service, in order (verification is off in the cell config, and no
# participant step is wanted by its manifest); the ones a rollback undoes.
INSTALL = [
    "verify",
    "allocate_ip",
    "render",
    "secrets",
    "compose_file",
    "network",
    "pull",
    "containers",
    "health",
]
UNDONE = ["allocate_ip", "secrets", "compose_file", "containers"]
JOURNALED = INSTALL[1:]  # verify is skipped: nothing to journal


class Crash(BaseException):
    """The installer dies: nothing of it runs any more (not an Exception: no rollback)."""


@pytest.fixture
def cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cell:
    use_fake_renderer(monkeypatch)
    return Cell(tmp_path)


def command(cell: Cell, operation_id: str = "op-1") -> InstallCommand:
    return InstallCommand(
        operation_id=operation_id,
        service_id=SERVICE,
        payload=InstallPayload(store=str(cell.store)),
    )


def fail_at(monkeypatch: pytest.MonkeyPatch, step: str, error: Exception) -> None:
    """The step `step` of the install raises `error` (its body replaced, nothing else)."""

    async def boom(ctx: Any) -> dict[str, object]:
        raise error

    original = lifecycle.install_steps

    def steps(ctx: OpContext) -> list[Any]:
        return [dataclasses.replace(s, apply=boom) if s.name == step else s for s in original(ctx)]

    monkeypatch.setattr(bodies, "install_steps", steps)


def crash_after_journaling(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    original = Operations.journal

    async def journal(self: Operations, record: OperationRecord, name: str, data: Any) -> None:
        await original(self, record, name, data)
        if name == step:
            raise Crash(step)

    monkeypatch.setattr(Operations, "journal", journal)


def progress(cell: Cell, operation_id: str = "op-1") -> list[tuple[str, str]]:
    return [
        (e.payload.step, e.payload.status.value)
        for e in cell.bus.of_type(ProgressEvent)
        if e.operation_id == operation_id
    ]


def results(cell: Cell) -> list[OperationResult]:
    return cell.bus.of_type(OperationResult)  # type: ignore[no-any-return]


async def record_of(cell: Cell, operation_id: str = "op-1") -> OperationRecord:
    found = await cell.buckets.operations.get(operation_id)
    assert found is not None
    return found.value


async def state_of(cell: Cell) -> tuple[str, str] | None:
    found = await cell.buckets.services.get(SERVICE)
    return (found.value.state.value, found.value.last_error) if found else None


async def assert_nothing_left(cell: Cell) -> None:
    assert await cell.leases() == {}
    assert await cell.secrets() is None
    assert not cell.compose_file.exists()
    assert cell.engine.containers == {} and cell.engine.volumes == {}


def assert_no_secret_published(cell: Cell) -> None:
    for _, message in cell.bus.published:
        assert SECRET not in message.model_dump_json()


# -- the table this file is about -----------------------------------------------------------


async def test_the_install_runs_every_step_and_keeps_what_it_made(cell: Cell) -> None:
    await cell.manager().handle(command(cell))
    [result] = results(cell)
    assert result.payload.status == "succeeded", result.payload.message
    assert [s for s, status in progress(cell) if status == "started"] == INSTALL
    assert list((await cell.leases()).values()) == [SERVICE]
    stored = await cell.secrets()
    assert stored is not None and stored.values == {"db_password": SECRET}
    assert cell.compose_file.exists() and list(cell.engine.containers) == [f"cell-{SERVICE}"]
    assert await state_of(cell) == ("installed", "")
    assert (await record_of(cell)).journal == []
    assert_no_secret_published(cell)


# -- every step failing in turn -------------------------------------------------------------


@pytest.mark.parametrize("step", INSTALL)
async def test_a_failing_step_rolls_back_each_earlier_step_in_reverse(
    cell: Cell, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    fail_at(monkeypatch, step, OperationError(f"{step} broke (password {SECRET})"))
    await cell.manager().handle(command(cell))

    [result] = results(cell)
    assert result.payload.status == "failed"
    assert result.payload.message.startswith(f"{step}: {step} broke (password ***)")
    assert result.payload.rollback_failures == []
    seen = progress(cell)
    started = [s for s, status in seen if status == "started"]
    assert started == INSTALL[: INSTALL.index(step) + 1]  # none after the failing one
    assert (step, "failed") in seen
    earlier = INSTALL[: INSTALL.index(step)]
    rolled_back = [s for s, status in seen if status == "rolled_back"]
    assert rolled_back == [s for s in reversed(UNDONE) if s in earlier]
    await assert_nothing_left(cell)
    state = await state_of(cell)
    assert state is not None and state[0] == "failed" and step in state[1]
    assert (await record_of(cell)).journal == []
    assert_no_secret_published(cell)


# -- a compensation failing -----------------------------------------------------------------


async def test_a_failing_compensation_is_reported_as_an_incomplete_rollback(
    cell: Cell, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_at(monkeypatch, "health", OperationError("never healthy"))
    cell.compose_fails["down"] = f"docker compose down: the engine went away ({SECRET})"
    await cell.manager().handle(command(cell))

    [result] = results(cell)
    assert result.payload.status == "failed"
    [failure] = result.payload.rollback_failures
    assert failure.step == "containers"
    assert failure.reason == "docker compose down: the engine went away (***)"
    assert "the rollback was incomplete: containers was not undone" in result.payload.message
    assert ("containers", "failed") in progress(cell)
    # the other compensations still ran, in reverse
    rolled_back = [s for s, status in progress(cell) if status == "rolled_back"]
    assert rolled_back == ["compose_file", "secrets", "allocate_ip"]
    assert await cell.leases() == {} and await cell.secrets() is None
    state = await state_of(cell)
    assert state is not None and "rollback was incomplete" in state[1]
    assert_no_secret_published(cell)


async def test_every_failing_compensation_is_named_and_none_stops_the_others() -> None:
    undone: list[str] = []

    def step(name: str, fails: bool = False, undo_fails: str = "") -> Step[Any]:
        async def apply(ctx: Any) -> dict[str, object]:
            if fails:
                raise OperationError(f"{name} failed")
            return {"name": name}

        async def compensate(ctx: Any, data: dict[str, object]) -> None:
            if undo_fails:
                raise RuntimeError(undo_fails)
            undone.append(str(data["name"]))

        return Step(name, name, apply, compensate)

    async def report(*_: object) -> None:
        return None

    steps = [step("a", undo_fails="a stuck"), step("b"), step("c", undo_fails="c stuck"), step("d")]
    steps.append(step("e", fails=True))
    with pytest.raises(StepFailed) as failed:
        await run(steps, None, "install", report, report)  # type: ignore[type-var]
    assert failed.value.step == "e"
    assert [(u.step, u.reason) for u in failed.value.undo_failures] == [
        ("c", "RuntimeError: c stuck"),
        ("a", "RuntimeError: a stuck"),
    ]
    assert undone == ["d", "b"]


# -- a crash right after each journal write -------------------------------------------------


@pytest.mark.parametrize("step", JOURNALED)
async def test_a_crash_after_each_journal_point_is_rolled_back_and_the_command_finished(
    cell: Cell, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    crash_after_journaling(monkeypatch, step)
    with pytest.raises(Crash):
        await cell.manager("installer-a").handle(command(cell))
    dead = await record_of(cell)
    assert dead.status == OpStatus.running and dead.journal[-1].step == step
    snapshot = Snapshot.of(dead)  # the model reads back what was written
    assert snapshot.manifest["id"] == SERVICE and SECRET not in json.dumps(dead.snapshot)
    monkeypatch.undo()
    use_fake_renderer(monkeypatch)

    cell.bus.published.clear()
    await cell.manager("installer-b").handle(command(cell))  # the command, redelivered
    seen = progress(cell)
    journaled = JOURNALED[: JOURNALED.index(step) + 1]
    recovered = [s for s, status in seen if status == "rolled_back"]
    assert recovered == [s for s in reversed(UNDONE) if s in journaled]
    [result] = results(cell)
    assert result.payload.status == "succeeded", result.payload.message
    assert list((await cell.leases()).values()) == [SERVICE]
    assert cell.compose_file.exists() and list(cell.engine.containers) == [f"cell-{SERVICE}"]
    assert await state_of(cell) == ("installed", "")


async def _crash_and_reap(cell: Cell, monkeypatch: pytest.MonkeyPatch, step: str) -> list[str]:
    crash_after_journaling(monkeypatch, step)
    with pytest.raises(Crash):
        await cell.manager("installer-a").handle(command(cell))
    # The dead installer's lease is still there, and has run out.
    dead = Lease(operation_id="op-1", holder="installer-a", expires=time.time() - 1)
    await cell.buckets.locks.put(SERVICE, dead)
    cell.bus.published.clear()
    return await cell.manager("installer-b").reap()


async def test_a_reaped_operation_is_rolled_back_from_its_snapshot(
    cell: Cell, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await _crash_and_reap(cell, monkeypatch, "containers") == ["op-1"]
    record = await record_of(cell)
    assert record.status == OpStatus.interrupted and record.journal == []
    assert record.message.endswith("what it had done was rolled back")
    assert record.rollback_failures == []
    await assert_nothing_left(cell)
    state = await state_of(cell)
    assert state is not None and state[0] == ServiceState.failed.value


async def test_a_recovery_whose_compensation_fails_says_so(
    cell: Cell, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell.compose_fails["down"] = f"docker compose down: no engine ({SECRET})"
    assert await _crash_and_reap(cell, monkeypatch, "health") == ["op-1"]
    record = await record_of(cell)
    assert record.status == OpStatus.interrupted and record.error_key == "rollback_incomplete"
    assert [(f.step, f.reason) for f in record.rollback_failures] == [
        ("containers", "docker compose down: no engine (***)")  # the stored secret, masked
    ]
    assert_no_secret_published(cell)
    assert "the rollback was incomplete: containers was not undone" in record.message
    assert ("containers", "failed") in progress(cell)
    state = await state_of(cell)
    assert state is not None and "rollback was incomplete" in state[1]
    assert await cell.leases() == {}  # the other compensations ran


async def test_a_redelivered_command_after_an_incomplete_recovery_says_so(
    cell: Cell, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_journaling(monkeypatch, "health")
    with pytest.raises(Crash):
        await cell.manager("installer-a").handle(command(cell))
    monkeypatch.undo()
    use_fake_renderer(monkeypatch)
    cell.compose_fails["down"] = "docker compose down: no engine"
    cell.bus.published.clear()
    await cell.manager("installer-b").handle(command(cell))
    [result] = results(cell)
    assert result.payload.status == "succeeded"
    assert (
        "the rollback of an earlier attempt was incomplete: containers was not undone "
        "(docker compose down: no engine)" in result.payload.message
    )


# -- a snapshot that does not parse ---------------------------------------------------------


async def test_a_snapshot_that_does_not_parse_is_reported_failed_not_dropped(
    cell: Cell, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after_journaling(monkeypatch, "compose_file")
    with pytest.raises(Crash):
        await cell.manager("installer-a").handle(command(cell))
    monkeypatch.undo()
    use_fake_renderer(monkeypatch)
    operations: Any = cell.buckets.operations
    broken = operations.raw("op-1")
    broken["snapshot"]["service_ip"] = ["not", "an", "address"]
    broken["snapshot"]["surprise"] = 1
    operations.put_raw("op-1", broken)

    cell.bus.published.clear()
    await cell.manager("installer-b").handle(command(cell))
    [result] = results(cell)
    assert result.payload.status == "failed" and result.payload.error_key == "snapshot_invalid"
    message = result.payload.message
    assert "snapshot of operation op-1 does not parse" in message
    assert "service_ip" in message and "surprise" in message
    assert "(allocate_ip, render, secrets, compose_file) were not rolled back" in message
    assert [s for s, status in progress(cell) if status == "started"] == []  # not run again
    record = await record_of(cell)
    assert record.status == OpStatus.failed and len(record.journal) == 4  # kept, for a human
    state = await state_of(cell)
    assert state is not None and state[0] == "failed" and "does not parse" in state[1]


# -- the phases -----------------------------------------------------------------------------


async def test_a_skipped_step_is_not_journaled_so_never_compensated() -> None:
    undone: list[str] = []

    async def skip(ctx: Any) -> dict[str, object]:
        raise StepSkipped("nothing to do")

    async def fail(ctx: Any) -> dict[str, object]:
        raise OperationError("no")

    async def undo(ctx: Any, data: dict[str, object]) -> None:
        undone.append("skipped")

    async def report(*_: object) -> None:
        return None

    steps: list[Step[Any]] = [Step("s", "s", skip, undo), Step("f", "f", fail)]
    with pytest.raises(StepFailed):
        await run(steps, None, "install", report, report)  # type: ignore[type-var]
    assert undone == []
