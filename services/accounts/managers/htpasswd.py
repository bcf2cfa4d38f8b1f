"""The `htpasswd` manager: bcrypt entries (`user:$2y$...`) in a file inside the container, as
WebDAV and CalDAV servers read it, written through the Docker engine atomically (a new file
renamed over the old). Lines it does not know are kept as they are.

The container is the one of that exact name in the service's own Compose project (never a
prefix or another service's container), reached by its id once found. The file is the
container's: it is read up to FILE_LIMIT bytes and must be UTF-8 text."""

from __future__ import annotations

import asyncio

import bcrypt

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, Unavailable
from services.accounts.state import Target
from services.accounts.vault import Credentials
from shared.docker.engine import ContainerInfo, DockerEngine, DockerError, FileTooLargeError

_LOCKS: dict[str, asyncio.Lock] = {}
PROJECT_LABEL = "com.docker.compose.project"
FILE_LIMIT = 4 * 1024 * 1024


def entry(username: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return f"{username}:{hashed.replace('$2b$', '$2y$', 1)}"  # the prefix Apache writes


class HtpasswdManager:
    kind = "htpasswd"

    def __init__(self, target: Target, calls: Calls, engine: DockerEngine) -> None:
        if not target.file:
            raise ManagerError(f"{target.service_id} names no htpasswd file")
        self.container, self.file = target.container, target.file
        self.service_id = target.service_id
        self.calls = calls
        self.engine = engine
        self.lock = _LOCKS.setdefault(f"{self.container}:{self.file}", asyncio.Lock())

    async def _own(self) -> ContainerInfo:
        """The service's own running container of that name (Docker also resolves id
        prefixes: the name and the project label are checked)."""
        try:
            info = await self.engine.inspect(self.container)
        except DockerError as exc:
            raise Unavailable(exc.message) from exc
        if info is not None and (
            info.name != self.container or info.labels.get(PROJECT_LABEL) != self.service_id
        ):
            raise ManagerError(
                f"the container {self.container} is not a container of {self.service_id}: "
                "its accounts may only be kept in its own containers"
            )
        if info is None or not info.running:
            raise Unavailable(f"the container {self.container} is not running")
        return info

    async def _lines(self, info: ContainerInfo) -> list[str]:
        try:
            data = await self.engine.read_file(info.id, self.file, FILE_LIMIT)
        except FileTooLargeError as exc:
            raise ManagerError(f"{self.file} in {self.container} is too large") from exc
        except DockerError as exc:
            raise Unavailable(exc.message) from exc
        try:
            text = (data or b"").decode()
        except UnicodeDecodeError as exc:
            raise ManagerError(
                f"{self.file} in {self.container} is not UTF-8 text (byte {exc.start}): "
                "pic-store leaves it alone"
            ) from exc
        return [line for line in text.splitlines() if line.strip()]

    async def _write(self, info: ContainerInfo, lines: list[str]) -> None:
        text = "".join(f"{line}\n" for line in lines).encode()
        try:
            await self.engine.write_file(info.id, self.file, text, 0o644)
        except DockerError as exc:
            raise Unavailable(exc.message) from exc

    async def usernames(self) -> set[str]:
        async def call() -> set[str]:
            return {line.split(":", 1)[0] for line in await self._lines(await self._own())}

        return await self.calls.run(self.kind, "list", call)

    async def create(self, username: str, credentials: Credentials) -> None:
        new = entry(username, credentials.get("password", ""))

        async def call() -> None:
            async with self.lock:
                info = await self._own()
                lines = [x for x in await self._lines(info) if x.split(":", 1)[0] != username]
                await self._write(info, [*lines, new])

        await self.calls.run(self.kind, "create", call)

    async def delete(self, username: str) -> None:
        async def call() -> None:
            async with self.lock:
                info = await self._own()
                lines = await self._lines(info)
                kept = [x for x in lines if x.split(":", 1)[0] != username]
                if kept != lines:
                    await self._write(info, kept)

        await self.calls.run(self.kind, "delete", call)
