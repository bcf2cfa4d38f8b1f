"""Docker engine verbs over aiodocker, with errors translated at this boundary."""

from __future__ import annotations

import asyncio
import contextlib
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError as AioDockerError
from aiodocker.jsonstream import json_stream_list

from shared.errors import OperationError, PartUnavailableError

READ_LIMIT = 4 * 1024 * 1024  # the largest file read from inside a container
_TAR_OVERHEAD = 64 * 1024  # the archive's headers around it
OUTPUT_LIMIT = 64 * 1024  # the most output of a command run in a container that is kept


class DockerError(OperationError):
    """The Docker engine refused a call, or it took too long."""

    key = "docker_error"


class FileTooLargeError(DockerError):
    """A file inside a container is larger than the reader's limit."""

    key = "file_too_large"


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    labels: dict[str, str]
    running: bool
    status: str
    health: str | None
    ip_addresses: dict[str, str]
    exit_code: int = 0

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> ContainerInfo:
        state = data.get("State", {})
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        return cls(
            id=data["Id"],
            name=data.get("Name", "").lstrip("/"),
            image=(data.get("Config") or {}).get("Image", ""),
            labels=(data.get("Config") or {}).get("Labels") or {},
            running=bool(state.get("Running")),
            status=state.get("Status", "unknown"),
            health=(state.get("Health") or {}).get("Status"),
            ip_addresses={n: v.get("IPAddress", "") for n, v in networks.items()},
            exit_code=int(state.get("ExitCode") or 0),
        )


def _describe(exc: AioDockerError) -> str:
    message = exc.message if isinstance(exc.message, str) else str(exc.message)
    return f"{message} (HTTP {exc.status})"


@contextlib.contextmanager
def _translated(
    action: str,
    absent_ok: bool = False,
    timeout: float | None = None,
) -> Iterator[None]:
    """aiodocker's errors as DockerError naming the action; `absent_ok`: a 404 is success."""
    try:
        yield
    except AioDockerError as exc:
        if absent_ok and exc.status == 404:
            return
        raise DockerError(f"could not {action}: {_describe(exc)}") from exc
    except TimeoutError as exc:
        if timeout is None:
            raise
        raise DockerError(f"{action} took longer than {timeout:.0f} s") from exc


class DockerEngine:
    """One Docker engine; `url` None means the local socket."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._docker: aiodocker.Docker | None = None

    async def _client(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = aiodocker.Docker(url=self.url)
        return self._docker

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def ping(self) -> None:
        try:
            docker = await self._client()
            await docker.version()
        except (aiohttp.ClientError, OSError, AioDockerError, ValueError) as exc:
            raise PartUnavailableError(f"the Docker engine does not answer: {exc}") from exc

    async def api_version(self) -> tuple[int, int]:
        """The engine's API version, e.g. (1, 41) for Docker Engine 20.10."""
        docker = await self._client()
        with _translated("ask the engine its version"):
            version = await docker.version()
        major, _, minor = str(version.get("ApiVersion", "1.0")).partition(".")
        return int(major), int(minor or 0)

    async def free_disk_bytes(self) -> int | None:
        """Free bytes where the engine keeps its data, when the engine is local."""
        docker = await self._client()
        info = await docker.system.info()
        root = info.get("DockerRootDir")
        if not root:
            return None
        try:
            import shutil

            return shutil.disk_usage(root).free
        except OSError:
            return None

    # -- images ---------------------------------------------------------------------------

    async def pull(self, image: str, timeout: float = 600.0) -> None:
        docker = await self._client()
        with _translated(f"pull {image}", timeout=timeout):
            await asyncio.wait_for(docker.images.pull(image), timeout)

    async def image_exists(self, image: str) -> bool:
        docker = await self._client()
        try:
            await docker.images.inspect(image)
        except AioDockerError as exc:
            if exc.status == 404:
                return False
            raise DockerError(f"could not inspect image {image}: {_describe(exc)}") from exc
        return True

    async def build(self, context_tar: bytes, tag: str, timeout: float = 600.0) -> str:
        """Build the image of a tar build context (its `Dockerfile` at the root) with no
        network access and without pulling; return the image id."""
        docker = await self._client()
        params = {"t": tag, "rm": "1", "forcerm": "1", "pull": "0", "networkmode": "none"}
        with _translated(f"build {tag}", timeout=timeout):
            async with (
                asyncio.timeout(timeout),
                docker._query(
                    "build",
                    "POST",
                    params=params,
                    data=context_tar,
                    headers={"content-type": "application/x-tar"},
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
                ) as response,
            ):
                chunks = await json_stream_list(response)
        built = [
            c["aux"]["ID"] for c in chunks if isinstance(c.get("aux"), dict) and c["aux"].get("ID")
        ]
        if built:
            return str(built[-1])
        return str((await docker.images.inspect(tag))["Id"])

    async def push(self, image: str, timeout: float = 600.0) -> str:
        """Push `repository:tag` to its registry; return the manifest digest it was stored as."""
        docker = await self._client()
        repository, _, tag = image.rpartition(":")
        if not repository or "/" in tag:
            raise DockerError(f"push needs repository:tag, got {image}")
        with _translated(f"push {image}", timeout=timeout):
            async with asyncio.timeout(timeout):
                chunks = await docker.images.push(repository, tag=tag)
        digests = [
            c["aux"]["Digest"]
            for c in chunks
            if isinstance(c.get("aux"), dict) and c["aux"].get("Digest")
        ]
        if not digests:
            raise DockerError(f"the Docker engine pushed {image} but reported no digest")
        return str(digests[-1])

    # -- networks -------------------------------------------------------------------------

    async def ensure_network(
        self, name: str, subnet: str, ip_range: str | None, labels: dict[str, str]
    ) -> None:
        docker = await self._client()
        try:
            await (await docker.networks.get(name)).show()
            return
        except AioDockerError as exc:
            if exc.status != 404:
                raise DockerError(f"could not inspect network {name}: {_describe(exc)}") from exc
        config = {
            "Name": name,
            "Driver": "bridge",
            "CheckDuplicate": True,
            "Labels": labels,
            "IPAM": {
                "Driver": "default",
                "Config": [{"Subnet": subnet, **({"IPRange": ip_range} if ip_range else {})}],
            },
        }
        try:
            await docker.networks.create(config)
        except AioDockerError as exc:
            # Two installs may race to create it; the loser sees a conflict or an overlap
            # while the winner's network is still being made.
            for _ in range(20):
                if await self.network_exists(name):
                    return
                await asyncio.sleep(0.1)
            raise DockerError(f"could not create network {name}: {_describe(exc)}") from exc

    async def list_networks(self, label: str) -> list[str]:
        """The names of the networks carrying `label` (`key` or `key=value`)."""
        docker = await self._client()
        with _translated(f"list the networks labelled {label}"):
            found = await docker.networks.list(filters={"label": [label]})
        return [str(n["Name"]) for n in found]

    async def remove_network(self, name: str) -> None:
        docker = await self._client()
        with _translated(f"remove network {name}", absent_ok=True):
            await (await docker.networks.get(name)).delete()

    async def network_exists(self, name: str) -> bool:
        docker = await self._client()
        try:
            await (await docker.networks.get(name)).show()
        except AioDockerError:
            return False
        return True

    # -- volumes --------------------------------------------------------------------------

    async def volume_exists(self, name: str) -> bool:
        docker = await self._client()
        try:
            await (await docker.volumes.get(name)).show()
        except AioDockerError as exc:
            if exc.status == 404:
                return False
            raise DockerError(f"could not inspect volume {name}: {_describe(exc)}") from exc
        return True

    async def list_volumes(self, label: str) -> list[str]:
        docker = await self._client()
        data = await docker.volumes.list(filters={"label": [label]})
        return [v["Name"] for v in data.get("Volumes") or []]

    async def remove_volume(self, name: str) -> None:
        docker = await self._client()
        with _translated(f"remove volume {name}", absent_ok=True):
            await (await docker.volumes.get(name)).delete()

    # -- containers -----------------------------------------------------------------------

    async def start(self, name: str) -> None:
        docker = await self._client()
        with _translated(f"start container {name}"):
            await (await docker.containers.get(name)).start()

    async def inspect(self, name: str) -> ContainerInfo | None:
        docker = await self._client()
        try:
            container = await docker.containers.get(name)
        except AioDockerError as exc:
            if exc.status == 404:
                return None
            raise DockerError(f"could not inspect container {name}: {_describe(exc)}") from exc
        return ContainerInfo.from_inspect(container._container)

    async def remove_container(
        self, name: str, stop_timeout: int = 10, anonymous_volumes: bool = False
    ) -> bool:
        """Stop and remove (with its anonymous volumes when asked); False when there was no
        such container."""
        docker = await self._client()
        try:
            container = await docker.containers.get(name)
        except AioDockerError as exc:
            if exc.status == 404:
                return False
            raise DockerError(f"could not find container {name}: {_describe(exc)}") from exc
        with contextlib.suppress(AioDockerError):  # already stopped: removal is what matters
            await container.stop(t=stop_timeout)
        try:
            await container.delete(force=True, v=anonymous_volumes)
        except AioDockerError as exc:
            if exc.status == 404:
                return False
            raise DockerError(f"could not remove container {name}: {_describe(exc)}") from exc
        return True

    async def list_containers(self, label: str) -> list[ContainerInfo]:
        docker = await self._client()
        containers = await docker.containers.list(all=True, filters={"label": [label]})
        out = []
        for c in containers:
            info = await self.inspect(c.id)
            if info is not None:
                out.append(info)
        return out

    # -- files inside a container -----------------------------------------------------------

    async def read_file(self, name: str, path: str, limit: int = READ_LIMIT) -> bytes | None:
        """A file inside a container (None: no such file). The container owns what is in
        it: more than `limit` bytes is a DockerError, never read into memory whole."""
        docker = await self._client()
        with _translated(f"find container {name}"):
            container = await docker.containers.get(name)
        received = bytearray()
        bound = limit + _TAR_OVERHEAD
        try:
            async with docker._query(
                f"containers/{container.id}/archive", params={"path": path}
            ) as response:
                async for chunk in response.content.iter_chunked(65536):
                    received += chunk
                    if len(received) > bound:
                        raise FileTooLargeError(f"{path} in {name} is larger than {limit} bytes")
        except AioDockerError as exc:
            if exc.status == 404:
                return None
            raise DockerError(f"could not read {path} in {name}: {_describe(exc)}") from exc
        with tarfile.open(fileobj=io.BytesIO(bytes(received)), mode="r|") as archive:
            member = archive.next()
            if member is None or not member.isfile():
                return None
            if member.size > limit:
                raise FileTooLargeError(f"{path} in {name} is larger than {limit} bytes")
            handle = archive.extractfile(member)
            return handle.read() if handle is not None else None

    async def write_file(self, name: str, path: str, data: bytes, mode: int = 0o644) -> None:
        """Write a file inside a container atomically: a temporary file beside it, renamed
        over it inside the container, so a reader sees the old file or the new, never half."""
        folder, _, base = path.rpartition("/")
        temporary = f".{base}.pic-{uuid.uuid4().hex[:8]}"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo(temporary)
            # Dated now: a reader that re-reads a file when its time or size changes (Dovecot's
            # passwd-file) sees a same-size rewrite too.
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        docker = await self._client()
        with _translated(f"write {path} in {name}"):
            container = await docker.containers.get(name)
            await container.put_archive(folder or "/", buffer.getvalue())
        await self.run_in(name, ["mv", "-f", f"{folder}/{temporary}", path])

    async def run_in(self, name: str, command: list[str]) -> str:
        """Run a command inside a running container; its output, DockerError when it fails."""
        docker = await self._client()
        with _translated(f"run {command[0]} in {name}"):
            container = await docker.containers.get(name)
            execution = await container.exec(command, stdout=True, stderr=True)
            output: list[str] = []
            kept = 0
            async with execution.start(detach=False) as stream:
                # The command may be the container's own: keep at most OUTPUT_LIMIT bytes.
                while kept < OUTPUT_LIMIT and (chunk := await stream.read_out()) is not None:
                    output.append(chunk.data[: OUTPUT_LIMIT - kept].decode(errors="replace"))
                    kept += len(chunk.data)
            code = (await execution.inspect()).get("ExitCode")
        text = "".join(output).strip()
        if code != 0:
            raise DockerError(f"{command[0]} in {name} exited with {code}: {text[:200]}")
        return text
