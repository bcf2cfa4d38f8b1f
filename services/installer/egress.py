"""The admin's egress choice: checked against the manifest and the cell config before
anything changes, kept in the service record, and sent with the step requests. A reconfigure
that changes it runs the egress step again (the last step, so nothing after it can fail)."""

from __future__ import annotations

from services.installer.context import OpContext
from shared.errors import OperationError

DEFAULT = "default"
CHOICE = "egress"  # the choice a step declares it carries (its contract's `choice`)


class EgressInvalidError(OperationError):
    """The asked outbound connection is not one of the manifest's `egress.allowed`, or the
    service has no egress choice."""

    key = "egress_invalid"


def in_use(ctx: OpContext) -> str | None:
    """The choice the installed service runs with (None: it has no egress)."""
    egress = ctx.manifest.egress
    if egress is None or not ctx.manifest.has_egress:
        return None
    chosen = ctx.previous.egress if ctx.previous is not None else None
    return chosen if chosen in (*egress.allowed, egress.default) else egress.default


def choose(ctx: OpContext, requested: str | None) -> None:
    """Set `ctx.egress`: the requested choice, else the one in use, else the default."""
    egress = ctx.manifest.egress
    if egress is None or not ctx.manifest.has_egress:
        if requested not in (None, DEFAULT):
            raise EgressInvalidError(
                f"egress {requested!r}: {ctx.service_id} has no egress choice (has_egress is "
                "false in its manifest)"
            )
        ctx.egress = None
        return
    choice = requested or in_use(ctx) or egress.default
    allowed = list(dict.fromkeys([egress.default, *egress.allowed]))
    if choice not in allowed:
        raise EgressInvalidError(
            f"egress {choice!r} is not allowed for {ctx.service_id} (allowed: {', '.join(allowed)})"
        )
    if choice != DEFAULT and ctx.cell.netpolicy.instance(choice) is None:
        raise EgressInvalidError(
            f"egress {choice!r} needs a connection instance in the cell config "
            f"(netpolicy.egress.{choice}); none is described"
        )
    ctx.egress = choice


def changed(ctx: OpContext) -> bool:
    """Does this reconfigure change the egress in use?"""
    return ctx.previous is not None and ctx.egress != in_use(ctx)


def applies_again(ctx: OpContext) -> bool:
    """Does this reconfigure run the egress step: the choice changes, or one other than the
    default stays (a container it recreates on the cell network may get a new address, and
    the egress governs every address of the service there)."""
    return changed(ctx) or ctx.egress not in (None, DEFAULT)
