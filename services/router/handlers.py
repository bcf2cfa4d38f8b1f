"""Bus handlers: the router's steps (its rows of shared/steps.py) answered through the
manager, and its reconcile, also when a service changes state."""

from __future__ import annotations

import asyncio

from services.router.manager import RouterManager
from services.router.upkeep import Upkeep
from shared.bus import Bus
from shared.participants import HandledBy, serve_and_reconcile


def start(
    bus: Bus, manager: RouterManager, upkeep: Upkeep, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return serve_and_reconcile(bus, HandledBy("router", manager), upkeep, stop)
