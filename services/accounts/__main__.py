"""`python -m services.accounts`: an account for every VPN peer in every service that has
accounts, and each peer's ready-to-use configs."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from services.accounts.handlers import start
from services.accounts.manager import AccountsManager
from services.accounts.managers import Calls
from services.accounts.settings import AccountsSettings
from services.accounts.state import State
from services.accounts.vault import Vault
from shared.bus import Bus
from shared.docker.engine import DockerEngine
from shared.installed import services_bucket
from shared.service import Health, finish_on_exit, run_service

SETTINGS = AccountsSettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per call otherwise
    engine = DockerEngine()
    stack.push_async_callback(engine.close)
    manager = AccountsManager(
        await State.open(bus),
        Vault(SETTINGS.key_file, SETTINGS.identity_file),
        engine,
        await services_bucket(bus),
        Calls(SETTINGS.call_timeout, 0.0),
        SETTINGS.start_window,
        SETTINGS.data_dir,
    )
    finish_on_exit(stack, start(bus, manager, SETTINGS.reconcile_period, stop))


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
