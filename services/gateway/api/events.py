"""Live progress, results and service states as server-sent events, resumable: each event's
id is the position after it (services/gateway/journal.py); a client that reconnects with
`Last-Event-ID` gets every event it missed, none twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from sse_starlette.sse import EventSourceResponse

from services.gateway.deps import Deps
from services.gateway.journal import Cursor, Journal, format_cursor, parse_cursor
from shared.events import OperationResult
from shared.http_guard import ErrorDetail
from shared.ids import OPERATION_ID_PATTERN

PING_SECONDS = 15
DESCRIPTION = """Server-sent events: `installer.progress` (one step of an operation),
`installer.result` (an operation's end), `installer.service` (a service changed state), each
with the message as JSON in `data` and an `id`. Reconnect with the header `Last-Event-ID` (a
browser's EventSource does) to get every event after that id, none twice. An event `gap` comes
first when some of the missed events are no longer kept: read the state again
(`GET /services`, `/operations`). With `operation_id` the stream ends after that operation's
result."""
BAD_POSITION = (
    "Last-Event-ID: {value!r} is not an event id this gateway gave (the `id` of an event of "
    "GET /events: three numbers joined by '-')"
)


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=["events"])

    @api.get(
        "/events",
        summary="Live progress, results and service states (server-sent events)",
        description=DESCRIPTION,
        response_class=EventSourceResponse,
        response_description="A text/event-stream of events",
        responses={400: {"model": ErrorDetail, "description": "Last-Event-ID is not an id"}},
    )
    async def events(
        operation_id: Annotated[
            str | None, Query(pattern=OPERATION_ID_PATTERN, description="Only this one")
        ] = None,
        last_event_id: Annotated[
            str | None,
            Header(max_length=80, description="Resume after this event (its `id`)"),
        ] = None,
    ) -> EventSourceResponse:
        journal = deps.journal
        if last_event_id is None or last_event_id == "":
            cursor = journal.position()
        else:
            parsed = parse_cursor(last_event_id)
            if parsed is None:
                raise HTTPException(400, BAD_POSITION.format(value=last_event_id[:80]))
            cursor = parsed
        return EventSourceResponse(stream(journal, cursor, operation_id), ping=PING_SECONDS)

    return api


async def stream(
    journal: Journal, cursor: Cursor, operation_id: str | None
) -> AsyncIterator[dict[str, str]]:
    position = list(cursor)
    with journal.listen() as listener:
        backlog, gap = journal.since(cursor)
        if gap:
            yield {"event": "gap", "data": json.dumps({"resumed_from": format_cursor(cursor)})}
        pending = iter(backlog)
        while True:
            entry = next(pending, None)
            if entry is None:
                entry = await listener.queue.get()
                if entry is None:
                    return  # the gateway stops, or the client fell behind: it resumes
            if entry.seq <= position[entry.channel]:
                continue  # sent already (in the backlog, and then live)
            position[entry.channel] = entry.seq
            event = entry.message
            if operation_id is not None and event.operation_id != operation_id:
                continue
            yield {
                "id": format_cursor(tuple(position)),
                "event": event.type,
                "data": json.dumps(event.model_dump(mode="json")),
            }
            if operation_id is not None and isinstance(event, OperationResult):
                return
