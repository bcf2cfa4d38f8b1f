"""The router: Caddy routes and DNS records of the installed services."""

from __future__ import annotations

from shared.bus.layout import Bucket
from shared.contract.declare import Contract, Endpoint, PlanFacts, Step
from shared.events.channels import (
    ROUTES_RECONCILED,
    ROUTES_REPORT,
    ROUTES_REQUEST,
    SERVICE_STATE,
)
from shared.manifest import Manifest

LOCK_BUCKET = "pic_router_lock"  # one router at a time changes Caddy and DNS


def _plan(m: Manifest, facts: PlanFacts) -> list[str]:
    return [
        *(f"{r.subdomain}.{facts.domain} -> {r.container}:{r.port}" for r in m.routes),
        *(f"{r.subdomain}.{facts.domain} A {facts.cell_address}" for r in m.routes),
        *(f"{name}.{facts.domain} A {facts.service_ip or '(its IP)'}" for name in m.hostnames),
    ]


ROUTES = Step(
    "routes",
    "Add the Caddy routes and DNS records",
    rank=20,
    wanted=lambda m: m.has_subdomain or bool(m.hostnames),  # hostnames: DNS only
    plan=_plan,
)

CONTRACT = Contract(
    owner="router",
    port=8472,
    summary="routes each service's names through Caddy and answers them in DNS",
    steps=(ROUTES,),
    # The routes report: the gateway's and `pic-store routes`' one source.
    endpoints=(Endpoint(ROUTES_REQUEST, "report"),),
    publishes=(ROUTES_RECONCILED, ROUTES_REPORT),
    watches=(SERVICE_STATE,),
    owns=(Bucket(LOCK_BUCKET, history=1),),
    reconciles_on_state=True,
)
