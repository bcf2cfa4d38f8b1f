"""The installer's answer to a logs request: the last lines of each of a service's containers,
sealed to the asker's one-time key (logs may hold anything a container prints), bounded so the
answer always fits one bus message (shared/events/logs.py)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TypedDict

import pyrage
from aiodocker.exceptions import DockerError as AioDockerError
from pyrage import x25519

from services.installer.project import LABEL_OWNER
from services.installer.settings import InstallerSettings
from shared.bus import Bus
from shared.docker import DockerEngine
from shared.events.channels import LOGS, LOGS_REPLY
from shared.events.logs import MAX_BYTES, MAX_LINE, LogsReply, LogsReplyPayload, LogsRequest
from shared.events.roles import installer_durable
from shared.installed import services_bucket


class ContainerLines(TypedDict):
    lines: list[str]
    truncated: bool


Lines = dict[str, ContainerLines]


def bounded(raw: list[str], tail: int) -> tuple[list[str], bool]:
    """The last `tail` lines, each cut to MAX_LINE characters; True when anything was cut."""
    lines: list[str] = []
    cut = False
    for chunk in raw:
        for line in chunk.splitlines():
            if len(line) > MAX_LINE:
                line, cut = line[:MAX_LINE] + "…", True
            lines.append(line)
    if len(lines) > tail:
        lines, cut = lines[-tail:], True
    return lines, cut


def within_budget(found: Lines) -> Lines:
    """Drop the oldest lines of the largest container until all fit MAX_BYTES together."""
    sizes = {name: sum(_size(line) for line in entry["lines"]) for name, entry in found.items()}
    while sum(sizes.values()) > MAX_BYTES:
        largest = max(sizes, key=lambda name: sizes[name])
        dropped = found[largest]["lines"].pop(0)
        found[largest]["truncated"] = True
        sizes[largest] -= _size(dropped)
    return found


def _size(line: str) -> int:
    return len(json.dumps(line))  # as it travels, quotes and escapes included


async def container_logs(engine: DockerEngine, service_id: str, tail: int) -> Lines:
    """{container name: {lines, truncated}} of the service's containers, by name."""
    docker = await engine._client()
    found: Lines = {}
    for info in sorted(
        await engine.list_containers(f"{LABEL_OWNER}={service_id}"), key=lambda c: c.name
    ):
        try:
            container = await docker.containers.get(info.id)
            raw = await container.log(stdout=True, stderr=True, tail=tail, timestamps=True)
        except AioDockerError:
            continue  # gone meanwhile
        lines, cut = bounded(raw, tail)
        found[info.name] = {"lines": lines, "truncated": cut}
    return within_budget(found)


async def answer(bus: Bus, engine: DockerEngine, request: LogsRequest) -> LogsReplyPayload:
    sid = request.service_id
    if await (await services_bucket(bus)).get(sid) is None:
        return LogsReplyPayload(ok=False, reason=f"{sid} is not installed", installed=False)
    try:
        recipient = x25519.Recipient.from_str(request.payload.recipient)
    except pyrage.RecipientError:
        return LogsReplyPayload(ok=False, reason="the recipient is not an age recipient")
    found = await container_logs(engine, sid, request.payload.tail)
    sealed = pyrage.encrypt(json.dumps(found).encode(), [recipient])
    return LogsReplyPayload(ok=True, sealed=base64.b64encode(sealed).decode())


def serve_logs(
    bus: Bus, engine: DockerEngine, settings: InstallerSettings, stop: asyncio.Event
) -> asyncio.Task[None]:
    async def on_request(request: LogsRequest) -> None:
        payload = await answer(bus, engine, request)
        await bus.publish(
            LOGS_REPLY,
            LogsReply(
                operation_id=request.operation_id,
                service_id=request.service_id,
                correlation_id=request.event_id,
                payload=payload,
            ),
        )

    host = settings.docker_host
    return asyncio.create_task(
        bus.consume(
            LOGS,
            installer_durable(LOGS, host),
            on_request,
            stop=stop,
            ack_wait=settings.ack_wait,
            max_deliver=2,  # an answer nobody awaits any more is no use
            concurrency=2,
            host=host,
        )
    )
