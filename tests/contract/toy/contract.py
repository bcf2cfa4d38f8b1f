"""A toy participant's contract: what a newcomer writes in shared/contract/participants/."""

from __future__ import annotations

from shared.contract.declare import Bucket, Contract, Endpoint, PlanFacts, Step
from shared.events.channels import PEER_ADDED
from shared.manifest import Manifest


def _plan(m: Manifest, facts: PlanFacts) -> list[str]:
    return [f"a greeting for {m.id}.{facts.domain}"]


GREET = Step("greet", "Greet the service", rank=55, wanted=lambda m: True, plan=_plan)

CONTRACT = Contract(
    owner="toy",
    port=8490,
    summary="greets every service it is asked to",
    steps=(GREET,),
    endpoints=(Endpoint(PEER_ADDED, "peer-added"),),
    owns=(Bucket("pic_toy_greetings", history=1),),
)
