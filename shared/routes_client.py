"""Ask the router for its routes report over the bus: what it holds in Caddy and DNS for the
installed services and whether they agree. Used by the CLI (`pic-store routes`), the
gateway (`GET /routes`) and the tests."""

from __future__ import annotations

from shared.bus import Bus
from shared.bus.request import ask
from shared.errors import OperationError
from shared.events import new_operation_id
from shared.events.channels import ROUTES_REPORT, ROUTES_REQUEST
from shared.events.routes import RoutesReply, RoutesReport, RoutesRequest


class RoutesUnavailableError(OperationError):
    """The router could not make the routes report (its reason, e.g. an unreadable cell
    config)."""

    key = "routes_unavailable"


class RouterTimeoutError(RoutesUnavailableError):
    """The router did not answer the routes request within the wait: is it running?"""

    key = "router_timeout"


async def routes_report(bus: Bus, timeout: float = 30.0) -> RoutesReport:
    """The router's report; RoutesUnavailableError with why there is none (RouterTimeoutError:
    no answer)."""
    request = RoutesRequest(operation_id=new_operation_id())
    reply = await ask(
        bus,
        ROUTES_REQUEST,
        request,
        replies=ROUTES_REPORT,
        reply=RoutesReply,
        answers=lambda answer: answer.correlation_id == request.event_id,
        timeout=timeout,
        timeout_error=lambda: RouterTimeoutError(
            f"the router did not answer within {timeout:g} s; is it running for cell "
            f"{bus.cell}? (`pic-store up`, or `python -m services.router`)"
        ),
    )
    if not reply.payload.ok or reply.payload.report is None:
        raise RoutesUnavailableError(
            f"the router could not report: {reply.payload.reason or 'no report'}"
        )
    return reply.payload.report
