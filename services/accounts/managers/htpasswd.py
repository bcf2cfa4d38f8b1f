"""The `htpasswd` manager: bcrypt entries (`user:$2y$...`) in a file inside the container, as
WebDAV and CalDAV servers read it, written through the Docker engine atomically (a new file
renamed over the old). Lines it does not know are kept as they are."""

from __future__ import annotations

import asyncio

import bcrypt

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, Unavailable
from services.accounts.state import Target
from services.accounts.vault import Credentials
from shared.docker.engine import DockerEngine, DockerError

_LOCKS: dict[str, asyncio.Lock] = {}


def entry(username: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return f"{username}:{hashed.replace('$2b$', '$2y$', 1)}"  # the prefix Apache writes


class HtpasswdManager:
    kind = "htpasswd"

    def __init__(self, target: Target, calls: Calls, engine: DockerEngine) -> None:
        if not target.file:
            raise ManagerError(f"{target.service_id} names no htpasswd file")
        self.container, self.file = target.container, target.file
        self.calls = calls
        self.engine = engine
        self.lock = _LOCKS.setdefault(f"{self.container}:{self.file}", asyncio.Lock())

    async def _lines(self) -> list[str]:
        info = await self.engine.inspect(self.container)
        if info is None or not info.running:
            raise Unavailable(f"the container {self.container} is not running")
        try:
            data = await self.engine.read_file(self.container, self.file)
        except DockerError as exc:
            raise Unavailable(exc.message) from exc
        return [line for line in (data or b"").decode().splitlines() if line.strip()]

    async def _write(self, lines: list[str]) -> None:
        text = "".join(f"{line}\n" for line in lines).encode()
        try:
            await self.engine.write_file(self.container, self.file, text, 0o644)
        except DockerError as exc:
            raise Unavailable(exc.message) from exc

    async def usernames(self) -> set[str]:
        async def call() -> set[str]:
            return {line.split(":", 1)[0] for line in await self._lines()}

        return await self.calls.run(self.kind, "list", call)

    async def create(self, username: str, credentials: Credentials) -> None:
        new = entry(username, credentials.get("password", ""))

        async def call() -> None:
            async with self.lock:
                lines = [x for x in await self._lines() if x.split(":", 1)[0] != username]
                await self._write([*lines, new])

        await self.calls.run(self.kind, "create", call)

    async def delete(self, username: str) -> None:
        async def call() -> None:
            async with self.lock:
                lines = await self._lines()
                kept = [x for x in lines if x.split(":", 1)[0] != username]
                if kept != lines:
                    await self._write(kept)

        await self.calls.run(self.kind, "delete", call)
