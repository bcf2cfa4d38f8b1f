"""The containers a service's backup may touch, and the limits of what runs in them.

A container named by a manifest's `backup` block (a volume's, a `before` or `after` hook's)
is one of the service's own only when its rendered compose file lists that exact name AND
Docker has a container of exactly that name labelled with the service's compose project
(`com.docker.compose.project=<id>`); it is then reached by its id, never by a name Docker
might match otherwise. Every command and stream of a backup has a time limit and a size cap
(the cell config's `backup.stream_timeout_seconds` and `backup.stream_max_bytes`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from services.backup.errors import BackupError, StreamLimitError
from shared.docker import DockerEngine
from shared.docker.engine import ContainerInfo
from shared.installed import ServiceRecord

PROJECT_LABEL = "com.docker.compose.project"


async def own_containers(
    engine: DockerEngine, service: ServiceRecord, names: Iterable[str]
) -> dict[str, ContainerInfo]:
    """Each name -> the service's own container of exactly that name (BackupError naming
    the first that is not one: nothing has run in any of them yet)."""
    sid = service.service_id
    wanted = sorted(set(names))
    listed = await engine.list_containers(f"{PROJECT_LABEL}={sid}")
    found = {c.name: c for c in listed if c.labels.get(PROJECT_LABEL) == sid}
    resolved = {}
    for name in wanted:
        info = found.get(name)
        if name not in service.containers or info is None:
            own = ", ".join(service.containers) or "none"
            raise BackupError(
                f"{name} is not a container of {sid} (its compose project holds: {own}): "
                "its backup runs nothing and reads nothing there"
            )
        resolved[name] = info
    return resolved


def size_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


@dataclass(frozen=True)
class Limits:
    seconds: float
    max_bytes: int

    def timeout_error(self, what: str) -> StreamLimitError:
        return StreamLimitError(
            f"{what} did not finish within {self.seconds:g} s "
            "(backup.stream_timeout_seconds): stopped"
        )

    async def stream(self, chunks: AsyncIterator[bytes], what: str) -> AsyncIterator[bytes]:
        """`chunks`, stopped with StreamLimitError when they take longer than the limit or
        exceed the cap (the source is closed: its connection to Docker ends)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        total = 0
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self.timeout_error(what)
                try:
                    chunk = await asyncio.wait_for(anext(chunks), remaining)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise self.timeout_error(what) from exc
                total += len(chunk)
                if total > self.max_bytes:
                    raise StreamLimitError(
                        f"{what} is larger than the cap of {size_text(self.max_bytes)} "
                        "(backup.stream_max_bytes): stopped"
                    )
                yield chunk
        finally:
            with contextlib.suppress(Exception):
                await chunks.aclose()  # type: ignore[attr-defined]

    async def output(self, chunks: AsyncIterator[bytes], what: str) -> str:
        out = bytearray()
        async for chunk in self.stream(chunks, what):
            out += chunk
        return out.decode(errors="replace")
