"""The framework that serves a participant's contract.

    service = Participant(CONTRACT)

    @service.apply(ROUTES)
    async def add_routes(request: StepRequest) -> Outcome: ...

    @service.compensate(ROUTES)
    async def remove_routes(request: StepRequest) -> Outcome: ...

    @service.endpoint(PEER_REQUEST)
    async def on_request(message: PeerRequest) -> None: ...

    tasks = service.tasks(bus, stop)  # refuses to start on a step or endpoint left unserved

One error boundary for every step: a `PicStoreError` becomes a failed result with its reason
and error key; anything else is `internal_error`, logged once with its traceback. One metric
for every participant, with the same labels. The participant announces itself in the
presence bucket (shared/contract/presence.py), consumes its step requests durably (a
participant that dies mid-step gets the request again) and answers on its own result subject.

`apply` and `compensate` must be idempotent: the same request may come twice, a compensate
may come for an apply that never arrived, and during a failed upgrade a compensate must leave
what the version still running needs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog

from shared.bus.channel import Channel
from shared.contract.declare import Contract, Endpoint, Step
from shared.contract.metrics import STEP_SECONDS, STEPS
from shared.contract.presence import Presence, announce
from shared.errors import PicStoreError
from shared.events import Message, ServiceStateChanged, StepRequest, StepResult
from shared.events.channels import SERVICE_STATE, STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepAction, StepResultPayload

log = structlog.get_logger("participant")
INTERNAL_ERROR = "internal_error"
DEFAULT_ACK_WAIT = 30.0

M = TypeVar("M", bound=Message)
StepHandler = Callable[[StepRequest], Awaitable["Outcome"]]
EndpointHandler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """What a step handler found: done (with what it made, and a warning), or refused with a
    reason (a check that says no: failing is what raising a PicStoreError is for)."""

    details: dict[str, str] = field(default_factory=dict)
    warning: str = ""
    ok: bool = True
    reason: str = ""


class ServingBus(Protocol):
    """What a participant needs of the bus (shared.bus.Bus is one; so is the in-memory bus
    of shared/contract/memory.py)."""

    def publish(self, channel: Channel, message: Message, **tokens: str) -> Awaitable[None]: ...

    def consume(
        self,
        channel: Channel,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        *,
        stop: asyncio.Event,
        ack_wait: float = ...,
        max_deliver: int = ...,
        concurrency: int = ...,
        **tokens: str,
    ) -> Awaitable[None]: ...

    def watch(
        self, channel: Channel, on_message: Callable[[Message], Awaitable[None]], **tokens: str
    ) -> AbstractAsyncContextManager[None]: ...

    def bucket(
        self, name: str, model: type[Presence], history: int = ..., ttl: float | None = ...
    ) -> Awaitable[Any]: ...


class Reconciles(Protocol):
    """Keeps what a participant applied true: `run` reconciles at its own rhythm until
    stopped, `poke` asks for one now."""

    def poke(self, trigger: str) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...


class UnservedError(RuntimeError):
    """A participant started with a declared step or endpoint it does not serve, or a
    handler for something its contract does not declare."""


class Participant:
    """Serves one contract: register handlers with the decorators, then start `tasks`."""

    def __init__(self, contract: Contract, *, recipient: str = "") -> None:
        self.contract = contract
        self.recipient = recipient  # an age recipient, announced (the installer seals to it)
        self._apply: dict[str, StepHandler] = {}
        self._compensate: dict[str, StepHandler] = {}
        self._endpoints: dict[str, EndpointHandler] = {}
        self._ack_wait: dict[str, float] = {}
        self._reconcile: Reconciles | None = None

    # -- registration ------------------------------------------------------------------------

    def apply(self, step: Step) -> Callable[[StepHandler], StepHandler]:
        return self._register(self._apply, step, "apply")

    def compensate(self, step: Step) -> Callable[[StepHandler], StepHandler]:
        return self._register(self._compensate, step, "compensate")

    def endpoint(
        self, channel: Channel, *, ack_wait: float | None = None
    ) -> Callable[[EndpointHandler], EndpointHandler]:
        """`ack_wait`: how long one message may take before the bus delivers it again."""

        def register(handler: EndpointHandler) -> EndpointHandler:
            if channel.name in self._endpoints:
                raise UnservedError(f"the {self.contract.owner} serves {channel.name} twice")
            self._endpoints[channel.name] = handler
            if ack_wait is not None:
                self._ack_wait[channel.name] = ack_wait
            return handler

        return register

    def reconcile(self, upkeep: Reconciles) -> None:
        """Its reconcile runs with it (and is poked on state changes when the contract says
        it follows them)."""
        self._reconcile = upkeep

    def _register(
        self, table: dict[str, StepHandler], step: Step, action: str
    ) -> Callable[[StepHandler], StepHandler]:
        def register(handler: StepHandler) -> StepHandler:
            if step.name in table:
                raise UnservedError(f"the {self.contract.owner} has two {action} of {step.name}")
            table[step.name] = handler
            return handler

        return register

    def check(self) -> None:
        """Refuse a declared step or endpoint without a handler, and a handler without a
        declaration: what the contract says is what runs."""
        declared = {step.name for step in self.contract.steps}
        undoable = {step.name for step in self.contract.steps if step.leaves_state}
        endpoints = {e.channel.name for e in self.contract.endpoints}
        problems = [
            *(f"step {s} has no apply handler" for s in sorted(declared - set(self._apply))),
            *(
                f"step {s} leaves state and has no compensate handler"
                for s in sorted(undoable - set(self._compensate))
            ),
            *(
                f"a handler serves step {s}, which the contract does not declare"
                for s in sorted((set(self._apply) | set(self._compensate)) - declared)
            ),
            *(f"endpoint {e} has no handler" for e in sorted(endpoints - set(self._endpoints))),
            *(
                f"a handler serves {e}, which the contract does not declare"
                for e in sorted(set(self._endpoints) - endpoints)
            ),
        ]
        if problems:
            raise UnservedError(f"the {self.contract.owner} cannot start: " + "; ".join(problems))

    # -- answering ---------------------------------------------------------------------------

    async def answer(self, request: StepRequest) -> StepResultPayload:
        """The result of one step request, whatever the handler did: the error boundary."""
        payload = request.payload
        step, action = payload.step, payload.action
        table = self._apply if action == StepAction.apply else self._compensate
        handler = table.get(step)
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(
            operation_id=request.operation_id, service_id=request.service_id, step=step
        ):
            if handler is None and self.contract.step(step) is not None:
                handler = _nothing_to_undo  # a check: nothing to compensate
            if handler is None:
                result = StepResultPayload(
                    step=step,
                    action=action,
                    ok=False,
                    reason=f"the {self.contract.owner} does not own the {step} step",
                    error_key="step_unknown",
                )
            else:
                result = await self._run(handler, request)
        outcome = "ok" if result.ok else "failed"
        labels = (self.contract.owner, step, action.value)
        STEPS.labels(*labels, outcome).inc()
        STEP_SECONDS.labels(*labels).observe(time.monotonic() - started)
        return result

    async def _run(self, handler: StepHandler, request: StepRequest) -> StepResultPayload:
        step, action = request.payload.step, request.payload.action
        try:
            outcome = await handler(request)
        except PicStoreError as exc:
            log.warning("step_failed", action=action.value, reason=exc.message, key=exc.key)
            return StepResultPayload(
                step=step, action=action, ok=False, reason=exc.message, error_key=exc.key
            )
        except Exception as exc:  # a bug: fail the step rather than leave the saga waiting
            log.exception("step_crashed", action=action.value)
            return StepResultPayload(
                step=step,
                action=action,
                ok=False,
                reason=f"internal error in the {self.contract.owner} ({type(exc).__name__}; "
                "its log has the details)",
                error_key=INTERNAL_ERROR,
            )
        log.info("step_done", action=action.value, ok=outcome.ok, **outcome.details)
        return StepResultPayload(
            step=step,
            action=action,
            ok=outcome.ok,
            reason=outcome.reason,
            warning=outcome.warning,
            details=outcome.details,
        )

    # -- serving -----------------------------------------------------------------------------

    def tasks(self, bus: ServingBus, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Announce the steps, serve them and the endpoints (and reconcile) until `stop`."""
        self.check()
        owner = self.contract.owner
        presence = Presence(
            service=owner,
            instance=f"{owner}-{uuid.uuid4().hex[:8]}",
            steps=[step.name for step in self.contract.steps],
            recipient=self.recipient,
        )
        tasks = [
            asyncio.create_task(announce(bus, presence, stop)),
            asyncio.create_task(self._serve_steps(bus, stop)),
            *(
                asyncio.create_task(self._serve_endpoint(bus, endpoint, stop))
                for endpoint in self.contract.endpoints
            ),
        ]
        if self._reconcile is not None:
            tasks.append(asyncio.create_task(self._reconcile.run(stop)))
            if self.contract.reconciles_on_state:
                tasks.append(asyncio.create_task(self._follow_states(bus, self._reconcile, stop)))
        return tasks

    async def _serve_steps(self, bus: ServingBus, stop: asyncio.Event) -> None:
        owner = self.contract.owner

        async def on_request(request: StepRequest) -> None:
            result = await self.answer(request)
            await bus.publish(
                STEP_RESULT,
                StepResult(
                    operation_id=request.operation_id,
                    service_id=request.service_id,
                    correlation_id=request.event_id,
                    payload=result,
                ),
                owner=owner,
            )

        await bus.consume(
            STEP_REQUEST, self.contract.steps_durable, on_request, stop=stop, owner=owner
        )

    async def _serve_endpoint(
        self, bus: ServingBus, endpoint: Endpoint, stop: asyncio.Event
    ) -> None:
        name = endpoint.channel.name
        await bus.consume(
            endpoint.channel,
            self.contract.durable(endpoint),
            self._endpoints[name],
            stop=stop,
            concurrency=endpoint.concurrency,
            ack_wait=self._ack_wait.get(name, DEFAULT_ACK_WAIT),
        )

    @staticmethod
    async def _follow_states(bus: ServingBus, upkeep: Reconciles, stop: asyncio.Event) -> None:
        async def on_state(message: Message) -> None:
            if isinstance(message, ServiceStateChanged):
                upkeep.poke("service-state")

        async with bus.watch(SERVICE_STATE, on_state):
            await stop.wait()


async def _nothing_to_undo(request: StepRequest) -> Outcome:
    return Outcome()
