"""The accounts service: the cell's peers, and an account for each in every service that has
accounts."""

from __future__ import annotations

from shared.bus.layout import Bucket
from shared.contract.declare import Contract, Endpoint, PlanFacts, Step
from shared.events.channels import PEER_ADDED, PEER_REMOVED, PEER_REPLY, PEER_REQUEST
from shared.manifest import Manifest
from shared.manifest.const import ACCOUNTS_API_SECRET

PEERS = "pic_peers"  # the current peers
ACCOUNT_SERVICES = "pic_account_services"  # the services it provisions
ACCOUNTS = "pic_accounts"  # the accounts it made (credentials encrypted)


def _plan(m: Manifest, facts: PlanFacts) -> list[str]:
    manager = m.accounts.manager if m.accounts is not None else "http"
    return [f"an account for every peer ({manager} manager)"]


ACCOUNTS_STEP = Step(
    "accounts",
    "Provision an account for every peer",
    rank=50,
    wanted=lambda m: m.has_accounts,
    plan=_plan,
    handed_secrets=(ACCOUNTS_API_SECRET,),  # the account API's bearer secret
)

CONTRACT = Contract(
    owner="accounts",
    port=8474,
    summary="keeps the peers and their accounts; answers peer requests sealed to the asker",
    steps=(ACCOUNTS_STEP,),
    endpoints=(
        Endpoint(PEER_ADDED, "peer-added"),
        Endpoint(PEER_REMOVED, "peer-removed"),
        Endpoint(PEER_REQUEST, "requests"),
    ),
    publishes=(PEER_REPLY,),
    owns=(
        Bucket(PEERS, history=1),
        Bucket(ACCOUNT_SERVICES, history=1),
        Bucket(ACCOUNTS, history=1),
    ),
)
