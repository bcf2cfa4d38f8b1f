"""A hostile registry: a raw asyncio HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

The real registry cannot be made to send a wrong digest, a redirect loop or an endless body,
so these faults are served by this small fake (DESIGN: a fake only for faults the real part
cannot produce). Each route is `async (request) -> None` and writes raw bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    writer: asyncio.StreamWriter

    async def send(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        *,
        length: int | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        all_headers = {
            "Content-Length": str(len(body) if length is None else length),
            **(headers or {}),
        }
        lines += [f"{k}: {v}" for k, v in all_headers.items() if v is not None]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    async def stream_forever(
        self, status: int, headers: dict[str, str], chunk: bytes = b"x" * 65536, delay: float = 0.0
    ) -> None:
        """Headers, then the body in chunked encoding that never ends."""
        lines = [f"HTTP/1.1 {status} X", "Transfer-Encoding: chunked"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            self.writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await self.writer.drain()
            await asyncio.sleep(delay)


Route = Callable[[Request], Awaitable[None]]


@dataclass
class HostileRegistry:
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Future[None]] = field(default_factory=set)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def route(self, prefix: str) -> Callable[[Route], Route]:
        def register(handler: Route) -> Route:
            self.routes[prefix] = handler
            return handler

        return register

    async def start(self) -> HostileRegistry:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it closes or the server stops (routes may hang)."""
        work = asyncio.ensure_future(self._requests(reader, writer))
        stop = asyncio.ensure_future(self._stopping.wait())
        self._tasks.add(work)
        await asyncio.wait([work, stop], return_when=asyncio.FIRST_COMPLETED)
        for task in (work, stop):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.discard(work)
        with contextlib.suppress(Exception):
            writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body, writer)
                self.seen.append(request)
                handler = self._handler_for(path)
                if handler is None:
                    await request.send(404, body=b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
                else:
                    await handler(request)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass

    def _handler_for(self, path: str) -> Route | None:
        matches = [p for p in self.routes if path.startswith(p)]
        return self.routes[max(matches, key=len)] if matches else None
