"""Data in and out of containers, streamed: `docker exec` with its stdout read chunk by chunk
(memory stays flat whatever the size), a tar stream put into a container through Docker's
archive API, and scratch containers and volumes for sandboxes (restricted as the containers
they stand in for: restrictions.py). aiodocker's errors become DockerError here, as in
engine.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any

from aiodocker.exceptions import DockerError as AioDockerError

from shared.docker.engine import DockerEngine, DockerError, _describe, _translated
from shared.docker.restrictions import Restrictions

STDERR_KEPT = 4000  # the tail of a failing command's stderr, for its error message


async def exec_stream(
    engine: DockerEngine, container: str, cmd: Sequence[str]
) -> AsyncIterator[bytes]:
    """The stdout of `cmd` run in the container, chunk by chunk; DockerError, with the end of
    its stderr, when it exits non-zero (after the last chunk)."""
    docker = await engine._client()
    with _translated(f"run {cmd[0]} in {container}"):
        handle = await (await docker.containers.get(container)).exec(list(cmd))
    stderr = bytearray()
    with _translated(f"run {cmd[0]} in {container}"):
        async with handle.start(detach=False) as stream:
            while (message := await stream.read_out()) is not None:
                if message.stream == 1:
                    yield message.data
                else:
                    stderr += message.data
                    del stderr[:-STDERR_KEPT]
    code = await _exit_code(handle)
    if code != 0:
        said = stderr.decode(errors="replace").strip()
        raise DockerError(f"{cmd[0]} in {container} exited with {code}: {said or 'no message'}")


async def exec_output(engine: DockerEngine, container: str, cmd: Sequence[str]) -> str:
    """Run a small command; its stdout as text (DockerError when it fails)."""
    out = bytearray()
    async for chunk in exec_stream(engine, container, cmd):
        out += chunk
    return out.decode(errors="replace")


async def _exit_code(handle: object) -> int:
    for _ in range(100):  # the stream ends a moment before Docker notes the exit
        info = await handle.inspect()  # type: ignore[attr-defined]
        if not info.get("Running"):
            return int(info.get("ExitCode") or 0)
        await asyncio.sleep(0.05)
    raise DockerError("a command in a container did not finish after its output ended")


async def put_archive(
    engine: DockerEngine, container: str, path: str, chunks: AsyncIterable[bytes]
) -> None:
    """Extract a tar stream (plain or gzip) at `path` in the container, as Docker's archive
    API does: modes, owners, links and times as the archive has them."""
    docker = await engine._client()
    with _translated(f"put an archive into {container}:{path}"):
        target = await docker.containers.get(container)
        async with docker._query(
            f"containers/{target.id}/archive",
            method="PUT",
            data=_body(chunks),
            headers={"content-type": "application/x-tar"},
            params={"path": path},
            timeout=None,
        ):
            pass


async def get_archive(engine: DockerEngine, container: str, path: str) -> AsyncIterator[bytes]:
    """A tar stream of `path` in the container (running or not), as `docker cp` reads it:
    its entries start with the path's last component."""
    docker = await engine._client()
    with _translated(f"read an archive of {container}:{path}"):
        source = await docker.containers.get(container)
        async with docker._query(
            f"containers/{source.id}/archive",
            method="GET",
            params={"path": path},
            timeout=None,
        ) as response:
            async for chunk in response.content.iter_chunked(1024 * 1024):
                yield chunk


async def _body(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk


async def restart(engine: DockerEngine, container: str, stop_timeout: int = 10) -> None:
    docker = await engine._client()
    with _translated(f"restart container {container}"):
        await (await docker.containers.get(container)).restart(timeout=stop_timeout)


async def stop(engine: DockerEngine, container: str, stop_timeout: int = 10) -> None:
    docker = await engine._client()
    with _translated(f"stop container {container}", absent_ok=True):
        await (await docker.containers.get(container)).stop(t=stop_timeout)


async def create_volume(engine: DockerEngine, name: str, labels: dict[str, str]) -> None:
    docker = await engine._client()
    with _translated(f"create volume {name}"):
        await docker.volumes.create({"Name": name, "Labels": labels})


async def restrictions_of(engine: DockerEngine, container: str) -> Restrictions:
    """What the engine restricts `container` to (DockerError when it is gone, or holds a value
    no template renders)."""
    docker = await engine._client()
    with _translated(f"inspect container {container}"):
        data = (await docker.containers.get(container))._container
    try:
        return Restrictions.from_inspect(data)
    except ValueError as exc:
        raise DockerError(f"the restrictions of {container} are not ones rendered: {exc}") from exc


async def run_scratch(
    engine: DockerEngine,
    name: str,
    image: str,
    mounts: dict[str, str],
    labels: dict[str, str],
    restrictions: Restrictions,
    start: bool = True,
) -> None:
    """Create (and start) a container of `image` with the volumes `mounts` (volume -> path),
    no network and no published port: a sandbox nothing can reach, under `restrictions`
    (and always no-new-privileges, MKNOD and NET_RAW dropped unless they name them)."""
    docker = await engine._client()
    restricted = restrictions.container_config()
    config: dict[str, Any] = {
        **restricted,
        "Image": image,
        "Labels": labels,
        "HostConfig": {
            **restricted["HostConfig"],
            "Binds": [f"{volume}:{path}" for volume, path in mounts.items()],
            "NetworkMode": "none",
            "Init": True,
        },
    }
    try:
        container = await docker.containers.create(config, name=name)
        if start:
            await container.start()
    except AioDockerError as exc:
        raise DockerError(f"could not start the sandbox {name}: {_describe(exc)}") from exc
