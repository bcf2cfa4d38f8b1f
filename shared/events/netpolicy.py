"""What the netpolicy corrected when it compared the host's firewall and routing with the
installed services (published on `netpolicy.reconciled`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload
from shared.events.messages import Correction


class NetpolicyReconciledPayload(Payload):
    trigger: str = Field(description="start-up, service-state or period")
    corrections: list[Correction] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class NetpolicyReconciled(Message):
    type: Literal["netpolicy.reconciled"] = "netpolicy.reconciled"
    version: Literal[1] = 1
    payload: NetpolicyReconciledPayload
