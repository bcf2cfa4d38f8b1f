"""The netpolicy: the host's firewall rules and egress routing for each service."""

from __future__ import annotations

from shared.contract.declare import Contract, PlanFacts, Step
from shared.events.channels import NETPOLICY_RECONCILED, SERVICE_STATE
from shared.manifest import Manifest


def _firewall(m: Manifest, facts: PlanFacts) -> list[str]:
    ip = facts.service_ip or "${SERVICE_IP}"
    return [
        f"ACCEPT {r.proto} to {r.dest_ip.replace('${SERVICE_IP}', ip)}:{r.dest_port}"
        for r in m.iptables_rules
    ]


def _egress(m: Manifest, facts: PlanFacts) -> list[str]:
    chosen = facts.choices.get("egress") or (m.egress.default if m.egress else None)
    return [f"outbound through {chosen}"] if chosen else []


FIREWALL = Step(
    "firewall",
    "Apply the iptables ACCEPT rules",
    rank=30,
    wanted=lambda m: bool(m.iptables_rules),
    plan=_firewall,
)
EGRESS = Step(
    "egress",
    "Select the outbound interface",
    rank=40,
    wanted=lambda m: m.has_egress,
    plan=_egress,
    choice="egress",
)

CONTRACT = Contract(
    owner="netpolicy",
    port=8473,
    summary="applies each service's firewall rules and routes its egress",
    steps=(FIREWALL, EGRESS),
    publishes=(NETPOLICY_RECONCILED,),
    watches=(SERVICE_STATE,),
    reconciles_on_state=True,
)
