"""A toy participant's service: what a newcomer writes in services/<owner>/handlers.py."""

from __future__ import annotations

from shared.contract.serve import Outcome, Participant
from shared.errors import OperationError
from shared.events import StepRequest
from shared.events.channels import PEER_ADDED
from shared.events.peers import PeerAdded
from tests.contract.toy.contract import CONTRACT, GREET


class GreetingRefusedError(OperationError):
    key = "greeting_refused"


def participant(greeted: set[str], peers: list[str]) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(GREET)
    async def greet(request: StepRequest) -> Outcome:
        sid = str(request.service_id)
        if sid.startswith("rude"):
            raise GreetingRefusedError(f"{sid} is not greeted")
        if sid.startswith("buggy"):
            raise ZeroDivisionError("a bug in the toy")
        greeted.add(sid)
        return Outcome(details={"greeted": sid})

    @service.compensate(GREET)
    async def forget(request: StepRequest) -> Outcome:
        greeted.discard(str(request.service_id))
        return Outcome()

    @service.endpoint(PEER_ADDED)
    async def on_peer(event: PeerAdded) -> None:
        peers.append(event.payload.peer)

    return service
