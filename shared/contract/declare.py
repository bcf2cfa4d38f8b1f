"""What a participant declares about itself, once: the types of a contract.

A participant is a service that owns saga steps of an install (verifier, router, ...). Its
contract says who it is (its owner name and HTTP port), which steps it carries out (with their
title, their place in the saga, when a manifest wants them and what the plan shows of them),
which commands it takes besides (endpoints), what it publishes and watches, and which buckets it
reads and writes. Everything else about a participant (its bus role and the permissions
nats-server enforces, the AsyncAPI document, the roster of ports, the plan's sections, the
channel docs, its durable consumers' names) is derived from this declaration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.bus.channel import Channel
from shared.bus.layout import Bucket
from shared.manifest import Manifest

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


@dataclass(frozen=True)
class PlanFacts:
    """What the plan of a step may show beside the manifest."""

    domain: str
    cell_address: str
    service_ip: str | None
    choices: dict[str, str | None] = field(default_factory=dict)  # the admin's choices


def _shows_nothing(manifest: Manifest, facts: PlanFacts) -> list[str]:
    return []


@dataclass(frozen=True)
class Step:
    """One saga step. `rank` orders the steps of every participant (lower first: the
    installer asks them in that order and a remove undoes them in reverse)."""

    name: str
    title: str
    rank: int
    wanted: Callable[[Manifest], bool]
    # The step's section of the plan: one line per thing it would make.
    plan: Callable[[Manifest, PlanFacts], list[str]] = _shows_nothing
    leaves_state: bool = True  # False: a check with nothing to undo (verify)
    # Generated secrets (PIC_SECRET_<NAME>) the owner is handed with the step, sealed to the
    # recipient it announces: the only way a secret leaves the installer for a participant.
    handed_secrets: tuple[str, ...] = ()
    # The admin's choice this step carries (sent in the request): a reconfigure that keeps
    # the service's containers runs the step again when the choice is in play.
    choice: str | None = None
    # The installer asks the owner for this before an upgrade (and after a failed one).
    guards_upgrade: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A command channel the participant consumes besides its steps, through its durable
    consumer `<owner>-<name>` (a durable keeps its name for good: a new name would be a new
    consumer that replays the stream); `concurrency` messages are handled at once."""

    channel: Channel
    name: str
    concurrency: int = 1


@dataclass(frozen=True)
class Contract:
    owner: str  # the service folder in services/ and its bus role
    port: int  # its /healthz and /metrics
    summary: str
    steps: tuple[Step, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    publishes: tuple[Channel, ...] = ()  # besides its steps' results
    watches: tuple[Channel, ...] = ()  # events it follows without a durable
    reads: tuple[str, ...] = ()  # others' buckets it reads
    # Its own buckets (read and write): the installer makes every bucket of the cell when it
    # starts (no other role may make a stream).
    owns: tuple[Bucket, ...] = ()
    # Follows the service state changes to reconcile what it applied.
    reconciles_on_state: bool = False

    def __post_init__(self) -> None:
        problems = [
            f"{what} {name!r} is not a name ([a-z][a-z0-9_-]*)"
            for what, name in (
                ("owner", self.owner),
                *(("step", step.name) for step in self.steps),
                *(("endpoint", endpoint.name) for endpoint in self.endpoints),
            )
            if not NAME.match(name)
        ]
        if not 1024 <= self.port <= 65535:
            problems.append(f"port {self.port} is not between 1024 and 65535")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            problems.append(f"a step is declared twice: {names}")
        if problems:
            raise ValueError(f"the contract of {self.owner!r}: " + "; ".join(problems))

    def durable(self, endpoint: Endpoint) -> str:
        return f"{self.owner}-{endpoint.name}"

    @property
    def steps_durable(self) -> str:
        return f"{self.owner}-steps"

    def step(self, name: str) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)
