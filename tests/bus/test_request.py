"""Request and reply (shared/bus/request.py) against a real NATS server, through the public
clients that use it: the answer correlated with the request comes back typed, other answers on
the same channel are passed over, progress is followed on the way, and silence ends in the
client's own error within its timeout."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from shared.backup_client import BackupTimeoutError, run_backup_command
from shared.bus import Bus
from shared.client import OperationTimeoutError, StoreClient
from shared.events import (
    InstallCommand,
    Message,
    OperationResult,
    ProgressEvent,
    new_operation_id,
)
from shared.events.backups import VerifyCommand, VerifyPayload
from shared.events.channels import INSTALL, PEER_REPLY, PEER_REQUEST, PROGRESS, RESULT, Channel
from shared.events.layout import CELL_LAYOUT
from shared.events.messages import (
    InstallPayload,
    OperationKind,
    OperationStatus,
    ProgressPayload,
    ResultPayload,
    StepStatus,
)
from shared.events.peers import PeerAction, PeerReply, PeerReplyPayload, PeerRequest
from shared.peer_client import PeerRequestError, ask_peer, seal

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(nats_url: str, suite_seed: Path) -> AsyncIterator[Bus]:
    bus = await Bus.connect(
        nats_url, f"r{uuid.uuid4().hex[:8]}", seed=suite_seed, layout=CELL_LAYOUT
    )
    yield bus
    await bus.close()


@asynccontextmanager
async def answering(
    bus: Bus, channel: Channel, respond: Callable[[Message], Awaitable[None]], **tokens: str
) -> AsyncIterator[None]:
    """A stand-in for the service that answers `channel`: `respond` runs for each request."""
    tasks: set[asyncio.Task[None]] = set()

    async def on_request(message: Message) -> None:
        task = asyncio.create_task(respond(message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async with bus.watch(channel, on_request, **tokens):
        yield
    for task in list(tasks):
        await task


async def test_the_correlated_answer_comes_back_and_others_are_passed_over(bus: Bus) -> None:
    async def accounts(message: Message) -> None:
        assert isinstance(message, PeerRequest)
        action = message.payload.action
        # Someone else's answer first, on the same channel: it must not be taken for ours.
        await bus.publish(
            PEER_REPLY,
            PeerReply(
                operation_id=new_operation_id(),
                correlation_id=uuid.uuid4().hex,
                payload=PeerReplyPayload(action=action, ok=False, reason="someone else's"),
            ),
        )
        sealed = seal({"peers": ["alice"]}, message.payload.recipient)
        await bus.publish(
            PEER_REPLY,
            PeerReply(
                operation_id=message.operation_id,
                correlation_id=message.event_id,
                payload=PeerReplyPayload(action=action, ok=True, sealed=sealed),
            ),
        )

    async with answering(bus, PEER_REQUEST, accounts):
        assert await ask_peer(bus, PeerAction.list, timeout=10) == {"peers": ["alice"]}


async def test_a_refusal_is_the_services_reason(bus: Bus) -> None:
    async def accounts(message: Message) -> None:
        assert isinstance(message, PeerRequest)
        await bus.publish(
            PEER_REPLY,
            PeerReply(
                operation_id=message.operation_id,
                correlation_id=message.event_id,
                payload=PeerReplyPayload(action=message.payload.action, ok=False, reason="no"),
            ),
        )

    async with answering(bus, PEER_REQUEST, accounts):
        with pytest.raises(PeerRequestError, match=r"^no$"):
            await ask_peer(bus, PeerAction.config, peer="alice", timeout=10)


async def test_progress_is_followed_and_only_this_operations_result_ends_the_wait(
    bus: Bus,
) -> None:
    other = new_operation_id()

    async def installer(message: Message) -> None:
        assert isinstance(message, InstallCommand)
        for operation_id in (other, message.operation_id):
            progress = ProgressPayload(
                kind=OperationKind.install, step="fetch", status=StepStatus.done, index=0, total=1
            )
            await bus.publish(PROGRESS, ProgressEvent(operation_id=operation_id, payload=progress))
        for operation_id, status in (
            (other, OperationStatus.failed),
            (message.operation_id, OperationStatus.succeeded),
        ):
            result = ResultPayload(kind=OperationKind.install, status=status)
            await bus.publish(
                RESULT,
                OperationResult(operation_id=operation_id, service_id="notes", payload=result),
            )

    command = InstallCommand(
        operation_id=new_operation_id(),
        service_id="notes",
        payload=InstallPayload(store="/store"),
    )
    seen: list[ProgressEvent] = []
    async with answering(bus, INSTALL, installer, host="local"):
        result = await StoreClient(bus).run(command, seen.append, timeout=10)
    assert result.operation_id == command.operation_id
    assert result.payload.status == OperationStatus.succeeded
    assert [event.operation_id for event in seen] == [command.operation_id]


async def test_silence_is_the_clients_own_error_within_its_timeout(bus: Bus) -> None:
    """Nobody serves this cell: each client gives up after its 1 s with its own message."""
    command = InstallCommand(
        operation_id=new_operation_id(),
        service_id="notes",
        payload=InstallPayload(store="/store"),
    )
    verify = VerifyCommand(operation_id=new_operation_id(), payload=VerifyPayload(backup="b-1"))
    started = time.monotonic()
    outcomes = await asyncio.gather(
        StoreClient(bus, host="h1").run(command, timeout=1),
        run_backup_command(bus, verify, 1),
        ask_peer(bus, PeerAction.list, timeout=1),
        return_exceptions=True,
    )
    assert 1 <= time.monotonic() - started < 4
    assert [type(outcome) for outcome in outcomes] == [
        OperationTimeoutError,
        BackupTimeoutError,
        PeerRequestError,
    ]
    assert [getattr(outcome, "message", None) for outcome in outcomes] == [
        f"no result for {command.operation_id} within 1 s; is the installer running for "
        f"cell {bus.cell}, host h1?",
        f"no backup result for {verify.operation_id} within 1 s; is the backup service "
        f"running for cell {bus.cell}?",
        "the accounts service did not answer within 1 s (is it running?)",
    ]
    assert all(isinstance(outcome.__cause__, TimeoutError) for outcome in outcomes)
