"""The saga steps other services carry out: one table, read by every place that needs it.

The installer asks each step of its owner when the manifest wants it, in this order, and a
remove undoes them in reverse; the plan shows what each would do; the channel documentation
names the owners; the embedded stack starts them. A new participant is a folder in
`services/` and a row here (and its name in `StepName`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.manifest import Manifest
from shared.manifest.const import ACCOUNTS_API_SECRET


class StepName(StrEnum):
    verify = "verify"
    routes = "routes"
    firewall = "firewall"
    egress = "egress"
    accounts = "accounts"
    backup = "backup"


@dataclass(frozen=True)
class PlanFacts:
    """What the plan of a step may show beside the manifest."""

    domain: str
    cell_address: str
    service_ip: str | None


@dataclass(frozen=True)
class StepSpec:
    name: StepName
    owner: str  # the service that carries it out (a folder in services/)
    title: str
    wanted: Callable[[Manifest], bool]
    # Fields of the Plan message this step fills in.
    plan: Callable[[Manifest, PlanFacts], dict[str, Any]]
    leaves_state: bool = True  # False: a check with nothing to undo (verify)
    # Generated secrets (PIC_SECRET_<NAME>) the owner is handed with the step, sealed to the
    # recipient it announces: the only way a secret leaves the installer for a participant.
    handed_secrets: tuple[str, ...] = ()


def _routes(m: Manifest, facts: PlanFacts) -> dict[str, Any]:
    return {
        "routes": [f"{r.subdomain}.{facts.domain} -> {r.container}:{r.port}" for r in m.routes],
        "dns_names": [f"{r.subdomain}.{facts.domain} A {facts.cell_address}" for r in m.routes],
    }


def _firewall(m: Manifest, facts: PlanFacts) -> dict[str, Any]:
    ip = facts.service_ip or "${SERVICE_IP}"
    return {
        "firewall_rules": [
            f"ACCEPT {r.proto} to {r.dest_ip.replace('${SERVICE_IP}', ip)}:{r.dest_port}"
            for r in m.iptables_rules
        ]
    }


def _egress(m: Manifest, facts: PlanFacts) -> dict[str, Any]:
    return {"egress": m.egress.default if m.egress else None}


def _accounts(m: Manifest, facts: PlanFacts) -> dict[str, Any]:
    return {"accounts": True}


def _backup(m: Manifest, facts: PlanFacts) -> dict[str, Any]:
    if m.backup is None:
        return {}
    return {
        "backups": [f"{v.name}.tar.gz from {v.container}:{v.path}" for v in m.backup.volumes]
        + [f"config {path}" for path in m.backup.config_paths]
    }


STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        StepName.verify,
        "verifier",
        "Verify the image signatures",
        lambda m: True,
        lambda m, f: {},
        leaves_state=False,
    ),
    StepSpec(
        StepName.routes,
        "router",
        "Add the Caddy routes and DNS records",
        lambda m: m.has_subdomain,
        _routes,
    ),
    StepSpec(
        StepName.firewall,
        "netpolicy",
        "Apply the iptables ACCEPT rules",
        lambda m: bool(m.iptables_rules),
        _firewall,
    ),
    StepSpec(
        StepName.egress,
        "netpolicy",
        "Select the outbound interface",
        lambda m: m.has_egress,
        _egress,
    ),
    StepSpec(
        StepName.accounts,
        "accounts",
        "Provision an account for every peer",
        lambda m: m.has_accounts,
        _accounts,
        handed_secrets=(ACCOUNTS_API_SECRET,),  # the account API's bearer secret
    ),
    StepSpec(StepName.backup, "backup", "Register the backups", lambda m: m.has_storage, _backup),
)
BY_NAME: dict[StepName, StepSpec] = {spec.name: spec for spec in STEPS}


def owner_of(step: StepName) -> str:
    return BY_NAME[step].owner


def steps_of(owner: str) -> list[StepName]:
    return [spec.name for spec in STEPS if spec.owner == owner]


def participants() -> tuple[str, ...]:
    """Every service that owns a step, in the order of the table."""
    return tuple(dict.fromkeys(spec.owner for spec in STEPS))


def after_health(manifest: Manifest) -> list[StepSpec]:
    """The steps that run once the containers are healthy (all but verify), wanted by
    this manifest, in saga order."""
    return [spec for spec in STEPS if spec.leaves_state and spec.wanted(manifest)]


assert all(name in BY_NAME for name in StepName), "every StepName needs a row"
