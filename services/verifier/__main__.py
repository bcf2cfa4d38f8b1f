"""`python -m services.verifier`: the verifier service (image trust for the install saga)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from fastapi import FastAPI

from services.verifier.handlers import consumers
from services.verifier.manager import VerifierManager
from services.verifier.settings import VerifierSettings
from shared.bus import Bus
from shared.service import Health, finish_on_exit, run_service

SETTINGS = VerifierSettings()


async def main(
    bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health
) -> FastAPI | None:
    manager = VerifierManager(SETTINGS)
    stack.push_async_callback(manager.close)
    tasks = consumers(bus, manager, stop)

    finish_on_exit(stack, tasks)
    return None


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
