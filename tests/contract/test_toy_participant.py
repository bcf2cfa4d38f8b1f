"""A new participant is one contract module and one service module: a toy one, declared in
tests/contract/toy/ and nowhere else, takes part in the saga, gets its bus role and port, shows
in the plan, and is served (steps, endpoint, error boundary) over the in-memory bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.contract.declare import Contract
from shared.contract.memory import MemoryBus
from shared.contract.presence import StepTimeoutError, ask_step, handles
from shared.contract.registry import after_health, checked, contracts, extended, saga
from shared.contract.serve import Outcome, Participant, UnservedError
from shared.events import StepRequest, new_operation_id
from shared.events.channels import PEER_ADDED
from shared.events.messages import StepAction, StepRequestPayload, StepResultPayload
from shared.events.peers import PeerAdded, PeerPayload
from shared.events.permissions import permissions
from shared.events.roles import participant_role
from shared.manifest import parse_manifest
from shared.roster import http_ports
from tests.contract.toy.contract import CONTRACT, GREET
from tests.contract.toy.service import participant

pytestmark = pytest.mark.unit

NOTES = Path(__file__).resolve().parents[2] / "examples/store/services/notes/manifest.json"


def request(sid: str, action: StepAction = StepAction.apply) -> StepRequest:
    return StepRequest(
        operation_id=new_operation_id(),
        service_id=sid,
        payload=StepRequestPayload(step=GREET.name, action=action, manifest={}),
    )


def test_the_toy_takes_part_in_everything_derived_from_the_contracts() -> None:
    with extended(CONTRACT):
        assert [s.name for _, s in saga()] == [
            "verify", "routes", "firewall", "egress", "accounts", "greet", "backup",
        ]  # fmt: skip
        assert http_ports()["toy"] == 8490
        manifest = parse_manifest(json.loads(NOTES.read_text()))
        assert "greet" in [s.name for _, s in after_health(manifest)]
        role = permissions(participant_role(CONTRACT), "c1")
    assert "toy" not in [c.owner for c in contracts()]  # only while extended
    publish, subscribe = role["publish"]["allow"], role["subscribe"]["allow"]
    assert "pic.c1.evt.toy.step_result" in publish
    assert "pic.c1.evt.other.step_result" not in publish
    assert "pic.c1.cmd.toy.step" in subscribe and "pic.c1.evt.peers.added" in subscribe
    durables = [s for s in publish if s.startswith("$JS.API.CONSUMER.CREATE.")]
    assert durables == [
        "$JS.API.CONSUMER.CREATE.PIC_COMMANDS.c1-toy-steps.pic.c1.cmd.toy.step",
        "$JS.API.CONSUMER.CREATE.PIC_EVENTS.c1-toy-peer-added.pic.c1.evt.peers.added",
    ]
    assert "$KV.pic_toy_greetings_c1.>" in publish


def test_a_contract_that_clashes_with_a_declared_one_is_refused() -> None:
    taken = Contract(owner="toy2", port=8472, summary="", steps=(GREET,))
    with pytest.raises(ValueError, match="port declared twice: 8472"):
        checked([*contracts(), taken])
    with pytest.raises(ValueError, match="step declared twice: greet"):
        checked([*contracts(), CONTRACT, taken.__class__("toy3", 8491, "", (GREET,))])


def test_a_participant_does_not_start_with_a_step_or_endpoint_left_unserved() -> None:
    half = Participant(CONTRACT)

    @half.apply(GREET)
    async def greet(request: StepRequest) -> Outcome:
        return Outcome()

    with pytest.raises(UnservedError) as refused:
        half.tasks(MemoryBus(), asyncio.Event())
    assert "step greet leaves state and has no compensate handler" in str(refused.value)
    assert f"endpoint {PEER_ADDED.name} has no handler" in str(refused.value)
    stray = participant(set(), [])
    stray.apply(type(GREET)("wave", "Wave", rank=1, wanted=lambda m: True))(greet)
    with pytest.raises(UnservedError, match="serves step wave, which the contract does not"):
        stray.check()


@pytest.fixture
async def served() -> AsyncIterator[tuple[MemoryBus, set[str], list[str]]]:
    greeted: set[str] = set()
    peers: list[str] = []
    bus, stop = MemoryBus(), asyncio.Event()
    with extended(CONTRACT):
        tasks = participant(greeted, peers).tasks(bus, stop)
        for _ in range(50):
            if await handles(bus, GREET.name):
                break
            await asyncio.sleep(0.01)
        yield bus, greeted, peers
        stop.set()
        await asyncio.gather(*tasks)


async def ask(bus: MemoryBus, step: StepRequest) -> StepResultPayload:
    return await ask_step(bus, step, timeout=2)


async def test_steps_and_endpoints_are_served_and_answered(
    served: tuple[MemoryBus, set[str], list[str]],
) -> None:
    bus, greeted, peers = served
    done = await ask(bus, request("notes"))
    assert (done.ok, done.details) == (True, {"greeted": "notes"}) and greeted == {"notes"}
    undone = await ask(bus, request("notes", StepAction.compensate))
    assert undone.ok and greeted == set()
    await bus.publish(
        PEER_ADDED, PeerAdded(operation_id=new_operation_id(), payload=PeerPayload(peer="ann"))
    )
    for _ in range(50):
        if peers:
            break
        await asyncio.sleep(0.01)
    assert peers == ["ann"]


async def test_the_error_boundary_answers_with_the_reason_at_once(
    served: tuple[MemoryBus, set[str], list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    bus, greeted, _ = served
    refused = await ask(bus, request("rude-one"))
    assert (refused.ok, refused.reason, refused.error_key) == (
        False, "rude-one is not greeted", "greeting_refused",
    )  # fmt: skip
    crashed = await ask(bus, request("buggy-one"))  # not a 60 s step_timeout: the reason
    assert (crashed.ok, crashed.error_key) == (False, "internal_error")
    assert "ZeroDivisionError" in crashed.reason and "a bug in the toy" not in crashed.reason
    assert greeted == set() and bus.errors == []


async def test_a_step_nobody_answers_times_out_naming_the_owner() -> None:
    with extended(CONTRACT), pytest.raises(StepTimeoutError, match="the toy did not answer"):
        await ask_step(MemoryBus(), request("notes"), timeout=0.1)
