"""Bring Caddy back to the routes the installed services need.

Run at start-up, when Caddy restarts (its config is then empty or stale) and periodically.
It corrects, and reports, exactly these drifts: our server missing (created), one of our
routes missing (added), changed by hand (replaced) or no longer needed by any service
(removed), and the 404 fallback missing or no longer last (restored). Other owners'
servers and routes are not looked at.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from services.router.caddy import CaddyAdmin
from services.router.routes import Route, diff, service_of


@dataclass(frozen=True)
class Corrections:
    server_created: bool = False
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    fallback_restored: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.server_created
            or self.added
            or self.replaced
            or self.removed
            or self.fallback_restored
        )


async def reconcile(
    caddy: CaddyAdmin, desired_routes: Mapping[str, Route], leave_alone: Collection[str] = ()
) -> Corrections:
    """Correct our routes in Caddy to `desired_routes` (id -> route); idempotent.

    The routes of the services in `leave_alone` (an operation on them is under way, and it
    owns their routes until it ends) are neither added, replaced nor removed.
    """
    created = await caddy.ensure_server()
    actual = await caddy.list_routes()
    # Our additions go to the front and nothing else moves, so checking now is enough.
    restored = await caddy.ensure_fallback(actual)
    if leave_alone:
        desired_routes = {
            rid: r for rid, r in desired_routes.items() if service_of(rid) not in leave_alone
        }
        actual = [r for r in actual if service_of(r) not in leave_alone]
    plan = diff(desired_routes, actual)
    # Removals first, so that a host moving to another route id never answers twice.
    removed = [rid for rid in plan.remove if await caddy.remove_route(rid)]
    for route in plan.replace:
        await caddy.put_route(route)
    for route in plan.add:
        await caddy.put_route(route)
    return Corrections(
        server_created=created,
        added=tuple(r["@id"] for r in plan.add),
        replaced=tuple(r["@id"] for r in plan.replace),
        removed=tuple(removed),
        fallback_restored=restored,
    )
