"""Bus handlers: decode (done by the channel's model), hand to the manager."""

from __future__ import annotations

import asyncio

from services.installer.manager import InstallerManager
from services.installer.settings import InstallerSettings
from shared.bus import Bus
from shared.events import InstallCommand, ReconfigureCommand, RemoveCommand
from shared.events.channels import INSTALL, RECONFIGURE, REMOVE
from shared.events.roles import installer_durable


def consumers(
    bus: Bus, manager: InstallerManager, settings: InstallerSettings, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    async def on_install(command: InstallCommand) -> None:
        await manager.handle(command)

    async def on_reconfigure(command: ReconfigureCommand) -> None:
        await manager.handle(command)

    async def on_remove(command: RemoveCommand) -> None:
        await manager.handle(command)

    host = settings.docker_host
    tasks = []
    for channel, handler in (  # one handler per command kind
        (INSTALL, on_install),
        (RECONFIGURE, on_reconfigure),
        (REMOVE, on_remove),
    ):
        durable = installer_durable(channel, host)
        tasks.append(
            asyncio.create_task(
                bus.consume(
                    channel,
                    durable,
                    handler,
                    stop=stop,
                    ack_wait=settings.ack_wait,
                    concurrency=settings.concurrency,
                    host=host,
                )
            )
        )
    return tasks
