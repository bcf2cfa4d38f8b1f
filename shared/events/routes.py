"""The routes report: what the router holds in Caddy and DNS for the installed services and
whether they agree, asked over the bus (the gateway's and `pic-store routes`' one source).

Each row is one host: its Caddy state (`ok`, `missing`, `changed`, `not needed`; empty for a
`hostnames` name, which has no route) and its DNS state (`ok`, `missing`, `wrong address`,
`not needed`); `in progress` while an operation on the service runs, `unknown` when the part
did not answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.bus.envelope import Message, Payload

AGREEING = frozenset({"ok", "in progress", ""})


class RouteState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: str = Field(description="The service the host is for ('?' when unknown)")
    host: str
    route_id: str = Field(default="", description="The Caddy route's @id; empty: DNS only")
    upstream: str = Field(default="", description="Where Caddy sends the host's requests")
    address: str = Field(default="", description="The address DNS answers for the host")
    caddy: str = Field(default="", description="ok, missing, changed, not needed, in progress")
    dns: str = Field(default="", description="ok, missing, wrong address, not needed, unknown")

    @property
    def agrees(self) -> bool:
        return self.caddy in AGREEING and self.dns in AGREEING


class RoutesReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str
    caddy: str = Field(description="Caddy's admin API")
    caddy_error: str = ""
    dns: str = Field(description="The DNS backend")
    dns_error: str = ""
    routes: list[RouteState] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    agree: bool = Field(default=True, description="Caddy and DNS hold what the services need")


class RoutesRequestPayload(Payload):
    """Nothing to say: the report covers every installed service."""


class RoutesRequest(Message):
    """Ask the router for its routes report."""

    type: Literal["router.report"] = "router.report"
    version: Literal[1] = 1
    payload: RoutesRequestPayload = Field(default_factory=RoutesRequestPayload)


class RoutesReplyPayload(Payload):
    ok: bool = Field(description="False: the router could not make the report (`reason`)")
    reason: str = ""
    error_key: str | None = None
    report: RoutesReport | None = None


class RoutesReply(Message):
    type: Literal["router.report_reply"] = "router.report_reply"
    version: Literal[1] = 1
    payload: RoutesReplyPayload
