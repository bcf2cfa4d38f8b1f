"""Saga participants: the services that own steps of an install (verifier, router, ...).

The contract, in one place:
- Which steps exist, who owns them and when a manifest wants them: the table in
  shared/steps.py.
- A participant announces itself in the `pic_participants` bucket (entries expire unless
  renewed, so a dead participant is absent within PRESENCE_TTL); the installer asks a step
  only of a present participant that handles it, else the step is skipped with a warning
  (verification in `enforce` fails instead), never silently waited on.
- Requests arrive on the owner's own subject, through a durable consumer (a participant that
  dies mid-step gets the request again); the answer goes out on the owner's own result
  subject, so a participant can only answer for its own steps.
- `apply` and `compensate` must be idempotent: the same request may come twice, a compensate
  may come for an apply that never arrived, and during a failed upgrade a compensate must
  leave what the version still running needs.

A participant subclasses `Participant` and implements `apply` and `compensate`; the
installer (or a test) asks with `ask_step`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from typing import Protocol

import structlog
from pydantic import BaseModel, Field

from shared.bus import Bus
from shared.bus.request import request
from shared.errors import OperationError
from shared.events import Message, ServiceStateChanged, StepRequest, StepResult
from shared.events.channels import SERVICE_STATE, STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepAction, StepResultPayload
from shared.steps import StepName, owner_of, steps_of

PRESENCE_BUCKET = "pic_participants"
PRESENCE_TTL = 15.0
RENEW_EVERY = 4.0
log = structlog.get_logger("participants")


class Presence(BaseModel):
    service: str
    instance: str = ""
    steps: list[str] = Field(default_factory=list)
    # An age X25519 recipient: what the installer hands this participant in a step request
    # (`sealed`) is sealed to it. Only the participant writes its own key of the bucket.
    recipient: str = ""


class StepTimeoutError(OperationError):
    key = "step_timeout"


async def announce(bus: Bus, presence: Presence, stop: asyncio.Event) -> None:
    bucket = await bus.bucket(PRESENCE_BUCKET, Presence, history=1, ttl=PRESENCE_TTL)
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await bucket.put(presence.service, presence)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RENEW_EVERY)
    with contextlib.suppress(Exception):
        await bucket.delete(presence.service)


async def handles(bus: Bus, step: StepName) -> bool:
    """Is the step's owner running, and does it say it handles the step?"""
    bucket = await bus.bucket(PRESENCE_BUCKET, Presence, history=1, ttl=PRESENCE_TTL)
    record = await bucket.get(owner_of(step))
    return record is not None and step.value in record.value.steps


async def recipient_of(bus: Bus, step: StepName) -> str | None:
    """The age recipient the step's owner announces (None: it announces none)."""
    bucket = await bus.bucket(PRESENCE_BUCKET, Presence, history=1, ttl=PRESENCE_TTL)
    record = await bucket.get(owner_of(step))
    return (record.value.recipient or None) if record is not None else None


async def ask_step(bus: Bus, request_: StepRequest, timeout: float) -> StepResultPayload:
    """Ask the owner of the request's step, and wait for its answer."""
    owner = owner_of(request_.payload.step)
    try:
        answer = await request(
            bus,
            STEP_REQUEST,
            request_,
            replies=STEP_RESULT,
            timeout=timeout,
            answers=lambda m: isinstance(m, StepResult) and m.correlation_id == request_.event_id,
            tokens={"owner": owner},
            reply_tokens={"owner": owner},
        )
    except TimeoutError as exc:
        raise StepTimeoutError(
            f"the {owner} did not answer the {request_.payload.step} step within {timeout:.0f} s"
        ) from exc
    assert isinstance(answer, StepResult)
    return answer.payload


class Participant(ABC):
    """A service that carries out saga steps: the rows of the step table it owns."""

    owner: str
    recipient: str = ""  # announced in its presence (see Presence.recipient)

    @abstractmethod
    async def apply(self, request: StepRequest) -> StepResultPayload: ...

    @abstractmethod
    async def compensate(self, request: StepRequest) -> StepResultPayload: ...

    @property
    def steps(self) -> list[StepName]:
        return steps_of(self.owner)

    async def answer(self, request: StepRequest) -> StepResultPayload:
        payload = request.payload
        with structlog.contextvars.bound_contextvars(
            operation_id=request.operation_id, service_id=request.service_id
        ):
            if payload.step not in self.steps:
                return StepResultPayload(
                    step=payload.step,
                    action=payload.action,
                    ok=False,
                    reason=f"the {self.owner} does not own the {payload.step.value} step",
                )
            if payload.action == StepAction.compensate:
                return await self.compensate(request)
            return await self.apply(request)

    def tasks(self, bus: Bus, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Announce the steps and serve them until `stop` is set."""
        presence = Presence(
            service=self.owner,
            instance=f"{self.owner}-{uuid.uuid4().hex[:8]}",
            steps=[step.value for step in self.steps],
            recipient=self.recipient,
        )
        return [
            asyncio.create_task(announce(bus, presence, stop)),
            asyncio.create_task(self.serve(bus, stop)),
        ]

    async def serve(self, bus: Bus, stop: asyncio.Event) -> None:
        """Consume the owner's step requests durably; publish a result for each."""

        async def on_request(request_: StepRequest) -> None:
            result = await self.answer(request_)
            await bus.publish(
                STEP_RESULT,
                StepResult(
                    operation_id=request_.operation_id,
                    service_id=request_.service_id,
                    correlation_id=request_.event_id,
                    payload=result,
                ),
                owner=self.owner,
            )

        await bus.consume(
            STEP_REQUEST, f"{self.owner}-steps", on_request, stop=stop, owner=self.owner
        )


class Handles(Protocol):
    """A manager that answers every request of its steps (the request says apply or
    compensate)."""

    async def handle(self, request: StepRequest) -> StepResultPayload: ...


class Reconciles(Protocol):
    """Keeps what a participant applied true: `run` reconciles at its own rhythm until
    stopped, `poke` asks for one now."""

    def poke(self, trigger: str) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...


class HandledBy(Participant):
    """A participant whose manager answers apply and compensate alike."""

    def __init__(self, owner: str, manager: Handles) -> None:
        self.owner = owner
        self.manager = manager

    async def apply(self, request: StepRequest) -> StepResultPayload:
        return await self.manager.handle(request)

    async def compensate(self, request: StepRequest) -> StepResultPayload:
        return await self.manager.handle(request)


def serve_and_reconcile(
    bus: Bus, participant: Participant, upkeep: Reconciles, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """The participant's steps, and its reconcile: at its own rhythm, and whenever a service
    changes state (what it applied may have to follow)."""

    async def on_state(message: Message) -> None:
        if isinstance(message, ServiceStateChanged):
            upkeep.poke("service-state")

    async def watch_states() -> None:
        async with bus.watch(SERVICE_STATE, on_state):
            await stop.wait()

    return [
        *participant.tasks(bus, stop),
        asyncio.create_task(watch_states()),
        asyncio.create_task(upkeep.run(stop)),
    ]


__all__ = [
    "HandledBy",
    "Handles",
    "Message",
    "Participant",
    "Presence",
    "StepTimeoutError",
    "announce",
    "ask_step",
    "handles",
    "recipient_of",
    "serve_and_reconcile",
]
