"""The verifier as a real process on the bus: it announces the verify step, answers
StepRequests with ok / not ok, caches successes, and empties its cache on a key change."""

from __future__ import annotations

import re

import httpx
import pytest

from app.embedded import ManagedProcess
from shared.bus import Bus
from shared.bus.request import ask
from shared.config import VerificationMode
from shared.contract.presence import ask_step, handles
from shared.events import StepRequest, StepResult, new_operation_id
from shared.events.channels import STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepAction, StepRequestPayload, StepResultPayload
from tests.parts.eventually import present
from tests.verifier.conftest import Signer, cell_config, small_image

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def scrape(proc: ManagedProcess, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=5).text
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def step_request(
    image: str, action: StepAction = StepAction.apply, step: str = "verify"
) -> StepRequest:
    return StepRequest(
        operation_id=new_operation_id(),
        service_id="svc",
        payload=StepRequestPayload(
            step=step, action=action, image=image, manifest={"id": "svc", "image": image}
        ),
    )


async def verify(bus: Bus, image: str, action: StepAction = StepAction.apply) -> StepResultPayload:
    return await ask_step(bus, step_request(image, action), timeout=15)


async def ask_verifier_for(bus: Bus, step: str, image: str) -> StepResultPayload:
    """A request for another owner's step, sent to the verifier's subject by hand."""
    sent = step_request(image, step=step)
    answer = await ask(
        bus,
        STEP_REQUEST,
        sent,
        replies=STEP_RESULT,
        reply=StepResult,
        answers=lambda result: result.correlation_id == sent.event_id,
        timeout=15,
        timeout_error=lambda: AssertionError("the verifier did not answer within 15 s"),
        tokens={"owner": "verifier"},
        reply_tokens={"owner": "verifier"},
    )
    return answer.payload


@pytest.fixture
async def verifier_bus(stack_factory, registry_host: str, signer: Signer):
    stack = stack_factory(
        cell_config={
            "image_verification": {
                "mode": VerificationMode.enforce,
                "public_keys": [signer.public_pem.decode()],
                "insecure_registries": [registry_host],
            }
        }
    )
    proc = stack.start("verifier")
    # Verify steps are asked as the installer asks them, with its identity.
    bus = await stack.bus("installer", name="test-verifier-bus")
    try:
        await present(bus, "verify")
        yield stack, proc, bus
    finally:
        await bus.close()


async def test_step_requests_are_answered(verifier_bus, registry_host, oci, signer: Signer) -> None:
    _, proc, bus = verifier_bus
    assert await handles(bus, "verify")
    signed = await small_image(oci, registry_host, signer)
    unsigned = await small_image(oci, registry_host)
    ok = await verify(bus, signed)
    assert ok.ok and ok.details["image"] == signed and ok.details["key_id"] == signer.key_id
    refused = await verify(bus, unsigned)
    assert not refused.ok and "no signature found" in refused.reason and refused.warning == ""
    undone = await verify(bus, signed, StepAction.compensate)
    assert undone.ok and undone.details == {}
    stranger_step = await ask_verifier_for(bus, "routes", signed)
    assert not stranger_step.ok and "does not own the routes step" in stranger_step.reason
    log = proc.log_path.read_text()
    assert '"event": "image_refused"' in log and '"operation_id"' in log
    assert "PRIVATE KEY" not in log


async def test_second_request_is_a_cache_hit_and_a_key_change_empties_it(
    verifier_bus, registry_host, oci, signer: Signer, stranger: Signer
) -> None:
    stack, proc, bus = verifier_bus
    signed = await small_image(oci, registry_host, signer)
    assert (await verify(bus, signed)).ok
    hits = scrape(proc, "pic_verifier_cache_hits_total")
    assert (await verify(bus, signed)).ok
    assert scrape(proc, "pic_verifier_cache_hits_total") == hits + 1
    assert scrape(proc, "pic_verifier_cache_entries") >= 1

    cell_config(
        stack.data_dir,
        mode="enforce",
        insecure_registries=[registry_host],
        public_keys=[stranger.public_pem.decode(), signer.public_pem.decode()],
    )
    misses = scrape(proc, "pic_verifier_cache_misses_total")
    again = await verify(bus, signed)
    assert again.ok  # still trusted, but asked the registry again under the new key set
    assert scrape(proc, "pic_verifier_cache_clears_total") == 1
    assert scrape(proc, "pic_verifier_cache_misses_total") == misses + 1
    assert scrape(proc, "pic_verifier_cache_hits_total") == hits + 1
    assert scrape(proc, "pic_verifier_cache_entries") == 1
    verified = scrape(proc, 'pic_verifier_verifications_total{mode="enforce",result="verified"}')
    assert verified == 3
