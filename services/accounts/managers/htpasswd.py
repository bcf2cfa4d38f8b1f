"""The `htpasswd` manager: bcrypt entries (`user:$2y$...`) in a file inside the container, as
WebDAV and CalDAV servers read it, written through the Docker engine atomically (a new file
renamed over the old). Lines it does not know are kept as they are.

The container is the one of that exact name in the service's own Compose project (never a
prefix or another service's container), reached by its id once found. The file is the
container's: it is read up to FILE_LIMIT bytes and must be UTF-8 text.

`rejected` checks the password pic-store holds against the entry's hash (bcrypt, in a
thread); an entry that is not bcrypt, or whose hash refuses it, is made again. Answers are
remembered by (entry, password digest), so a reconcile that finds nothing changed costs no
bcrypt round."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping

import bcrypt

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, Unavailable, password_of
from services.accounts.state import Target
from services.accounts.vault import Credentials
from shared.docker.engine import ContainerInfo, DockerEngine, DockerError, FileTooLargeError

_LOCKS: dict[str, asyncio.Lock] = {}
PROJECT_LABEL = "com.docker.compose.project"
FILE_LIMIT = 4 * 1024 * 1024
_CHECKED: dict[tuple[str, str], bool] = {}  # (entry, sha256 of the password) -> accepts
CHECKED_LIMIT = 4096


def entry(username: str, password: str) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return f"{username}:{hashed.replace('$2b$', '$2y$', 1)}"  # the prefix Apache writes


def accepts(line: str, password: str) -> bool:
    """Whether the entry `user:hash` accepts `password` (bcrypt only: pic-store writes no
    other kind, so any other hash is not what it made)."""
    key = (line, hashlib.sha256(password.encode()).hexdigest())
    known = _CHECKED.get(key)
    if known is None:
        hashed = line.partition(":")[2].strip().encode()
        try:
            known = bool(password) and bcrypt.checkpw(password.encode(), hashed)
        except ValueError:  # not a bcrypt hash
            known = False
        if len(_CHECKED) >= CHECKED_LIMIT:
            _CHECKED.clear()
        _CHECKED[key] = known
    return known


class HtpasswdManager:
    """Also the base of the named managers whose user store is such a file (`files`)."""

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

    # -- the file's lines: what a subclass with another line format overrides ------------

    def peer_of(self, line: str) -> str | None:
        """The peer a line is the account of (None: not a line of this manager's)."""
        return line.split(":", 1)[0]

    def line_for(self, username: str, password: str) -> str:
        return entry(username, password)

    def accepted(self, line: str, password: str) -> bool:
        return accepts(line, password)

    # -- the manager's verbs ---------------------------------------------------------------

    async def usernames(self) -> set[str]:
        async def call() -> set[str]:
            lines = await self._lines(await self._own())
            return {peer for line in lines if (peer := self.peer_of(line)) is not None}

        return await self.calls.run(self.kind, "list", call)

    async def rejected(self, held: Mapping[str, Credentials]) -> set[str]:
        async def call() -> set[str]:
            lines = await self._lines(await self._own())
            ours = {peer: line for line in lines if (peer := self.peer_of(line)) is not None}
            refused = set()
            for name, creds in held.items():
                line = ours.get(name)
                password = creds.get("password", "")
                if line is not None and not await asyncio.to_thread(self.accepted, line, password):
                    refused.add(name)
            return refused

        return await self.calls.run(self.kind, "check", call)

    async def create(self, username: str, credentials: Credentials) -> None:
        new = self.line_for(username, password_of(self.kind, username, credentials))

        async def call() -> None:
            async with self.lock:
                info = await self._own()
                lines = await self._lines(info)
                kept = [x for x in lines if self.peer_of(x) != username]
                await self._write(info, [*kept, new])

        await self.calls.run(self.kind, "create", call)

    async def delete(self, username: str) -> None:
        async def call() -> None:
            async with self.lock:
                info = await self._own()
                lines = await self._lines(info)
                kept = [x for x in lines if self.peer_of(x) != username]
                if kept != lines:
                    await self._write(info, kept)

        await self.calls.run(self.kind, "delete", call)
