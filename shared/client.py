"""Send life-cycle commands to the installer over the bus and follow them to their result.

Used by the CLI, the tests and any gateway written in Python.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.bus import Bus
from shared.bus.channel import Channel
from shared.bus.request import ask
from shared.errors import OperationError
from shared.events import (
    InstallCommand,
    Message,
    OperationResult,
    ProgressEvent,
    ReconfigureCommand,
    RemoveCommand,
)
from shared.events.channels import INSTALL, PROGRESS, RECONFIGURE, REMOVE, RESULT
from shared.installed import ServiceView, services_bucket, view

Command = InstallCommand | ReconfigureCommand | RemoveCommand
ProgressCallback = Callable[[ProgressEvent], Awaitable[None] | None]
CHANNEL: dict[type[Message], Channel] = {
    InstallCommand: INSTALL,
    ReconfigureCommand: RECONFIGURE,
    RemoveCommand: REMOVE,
}


class OperationTimeoutError(OperationError):
    """No result of a life-cycle command within the client's wait: is the installer running for
    the cell and host?"""

    key = "operation_timeout"


class StoreClient:
    def __init__(self, bus: Bus, host: str = "local") -> None:
        self.bus = bus
        self.host = host

    async def submit(self, command: Command) -> None:
        """Publish the command and return; follow it with `run` or the events."""
        await self.bus.publish(CHANNEL[type(command)], command, host=self.host)

    async def run(
        self, command: Command, on_progress: ProgressCallback | None = None, timeout: float = 900.0
    ) -> OperationResult:
        """Publish the command and wait for its result, reporting progress on the way."""

        def progress(event: Message) -> Awaitable[None] | None:
            if (
                isinstance(event, ProgressEvent)
                and on_progress is not None
                and event.operation_id == command.operation_id
            ):
                return on_progress(event)
            return None

        return await ask(
            self.bus,
            CHANNEL[type(command)],
            command,
            replies=RESULT,
            reply=OperationResult,
            answers=lambda result: result.operation_id == command.operation_id,
            timeout=timeout,
            timeout_error=lambda: OperationTimeoutError(
                f"no result for {command.operation_id} within {timeout:.0f} s; is the "
                f"installer running for cell {self.bus.cell}, host {self.host}?"
            ),
            tokens={"host": self.host},
            follow=[(PROGRESS, progress)],
        )

    async def services(self) -> list[ServiceView]:
        bucket = await services_bucket(self.bus)
        return [view(r.value) for _, r in sorted((await bucket.items()).items())]

    async def service(self, service_id: str) -> ServiceView | None:
        record = await (await services_bucket(self.bus)).get(service_id)
        return view(record.value) if record else None
