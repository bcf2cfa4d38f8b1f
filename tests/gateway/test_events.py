"""GET /events: live progress, results and states as server-sent events that resume from
Last-Event-ID (a browser reconnecting gets every event it missed, none twice)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from shared.bus import Bus
from shared.bus.envelope import Message
from shared.events import OperationResult, ProgressEvent, new_operation_id
from shared.events.channels import PROGRESS, RESULT, SERVICE_STATE
from shared.events.messages import (
    OperationKind,
    OperationStatus,
    ProgressPayload,
    ResultPayload,
    ServiceState,
    ServiceStateChanged,
    StatePayload,
    StepStatus,
)
from tests.gateway.conftest import Gateway, serve_gateway
from tests.gateway.sse import Sse, events_of
from tests.parts.eventually import eventually
from tests.parts.stack import Stack

pytestmark = pytest.mark.integration


async def until(check: Callable[[], bool], what: str) -> None:
    async def holds() -> bool:
        return check()

    await eventually(holds, 10.0, what)


def operation(sid: str, steps: int) -> list[Message]:
    """What the installer says of one install: a state, each step, the result, a state."""
    op = new_operation_id()
    kind = OperationKind.install

    def state(now: ServiceState) -> ServiceStateChanged:
        return ServiceStateChanged(operation_id=op, service_id=sid, payload=StatePayload(state=now))

    progress = [
        ProgressEvent(
            operation_id=op,
            service_id=sid,
            payload=ProgressPayload(
                kind=kind, step=f"step{i}", status=StepStatus.done, index=i, total=steps
            ),
        )
        for i in range(steps)
    ]
    result = OperationResult(
        operation_id=op,
        service_id=sid,
        payload=ResultPayload(kind=kind, status=OperationStatus.succeeded),
    )
    return [state(ServiceState.installing), *progress, result, state(ServiceState.installed)]


async def publish(installer: Bus, messages: list[Message]) -> None:
    for message in messages:
        channel = {
            ProgressEvent: PROGRESS,
            OperationResult: RESULT,
            ServiceStateChanged: SERVICE_STATE,
        }[type(message)]
        await installer.publish(channel, message)


async def read(gw: Gateway, count: int, last_event_id: str | None = None) -> list[Sse]:
    """The first `count` events of a new stream; then the client disconnects."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    got: list[Sse] = []
    async with gw.http.stream("GET", "/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for event in events_of(response):
            got.append(event)
            if len(got) == count:
                break
    return got


async def test_a_reconnect_with_last_event_id_gets_the_rest_none_twice(
    gateway: Gateway,
) -> None:
    installer = await gateway.stack.bus("installer", name="test-installer")
    try:
        first, second = operation("web", 3), operation("mail", 2)
        # A client listens from now on: it gets the first operation's events live...
        reading = asyncio.create_task(read(gateway, 4))
        await until(lambda: len(gateway.journal.listeners) == 1, "the client listens")
        await publish(installer, first)
        seen = await asyncio.wait_for(reading, 20)
        # ...and goes away after 4 of them; everything else happens while it is gone.
        await publish(installer, second)
        everything = [m.event_id for m in first + second]
        await until(lambda: len(gateway.journal.kept[1]) == 2, "both results kept")

        rest = await asyncio.wait_for(
            read(gateway, len(everything) - len(seen), last_event_id=seen[-1].id), 20
        )
    finally:
        await installer.close()

    received = [e.data["event_id"] for e in seen + rest]
    assert len(received) == len(set(received)), "an event came twice"
    assert sorted(received) == sorted(everything), "an event is missing"
    # Of each channel, the events arrive in the order they were published (across channels
    # too, live, unless a consumer lags more than the journal's short hold; a replay always).
    for kind in ("installer.progress", "installer.result", "installer.service"):
        published = [m.event_id for m in first + second if m.type == kind]
        assert [e.data["event_id"] for e in seen + rest if e.event == kind] == published
    replayed = [
        m.event_id for m in first + second if m.event_id not in {e.data["event_id"] for e in seen}
    ]
    assert [e.data["event_id"] for e in rest] == replayed, "a replay is in stream order"
    assert all(e.id for e in seen + rest), "every event carries an id to resume from"


async def test_a_position_older_than_what_is_kept_says_gap(gateway_cell: Stack) -> None:
    async with serve_gateway(gateway_cell, journal_size=2) as gw:
        installer = await gw.stack.bus("installer", name="test-installer")
        try:
            await publish(installer, operation("web", 4))
            await until(lambda: gw.journal.floor[0] > 0, "the oldest progress trimmed")
        finally:
            await installer.close()
        events = await asyncio.wait_for(read(gw, 6, last_event_id="0-0-0"), 20)
    assert events[0].event == "gap"
    assert events[0].id is None
    # Then what is still kept (the last two of each channel), in stream order: of the four
    # steps, the first two are gone.
    assert [e.event for e in events[1:]] == [
        "installer.service",
        "installer.progress",
        "installer.progress",
        "installer.result",
        "installer.service",
    ]
    assert [e.data["payload"]["step"] for e in events[2:4]] == ["step2", "step3"]


async def test_operation_filter_ends_with_its_result(gateway: Gateway) -> None:
    installer = await gateway.stack.bus("installer", name="test-installer")
    try:
        wanted, other = operation("web", 2), operation("mail", 2)
        op = wanted[0].operation_id
        got: list[Sse] = []

        async def follow() -> None:
            async with gateway.http.stream("GET", "/events", params={"operation_id": op}) as r:
                got.extend([e async for e in events_of(r)])  # ends with the result

        reading = asyncio.create_task(follow())
        await until(lambda: len(gateway.journal.listeners) == 1, "the client listens")
        await publish(installer, other[:2] + wanted + other[2:])
        await asyncio.wait_for(reading, 20)
    finally:
        await installer.close()
    assert {e.data["operation_id"] for e in got} == {op}
    assert got[-1].event == "installer.result"


async def test_bad_requests_name_what_is_wrong(gateway: Gateway) -> None:
    for bad in ("12", "1-2-x", "-1-2-3", "1-2-3-4", "1 -2-3"):
        response = await gateway.http.get("/events", headers={"Last-Event-ID": bad})
        assert response.status_code == 400, bad
        assert "Last-Event-ID" in response.json()["detail"]
    response = await gateway.http.get("/events", params={"operation_id": "../x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "operation_id"]
    response = await gateway.anonymous.get("/events")
    assert response.status_code == 401
