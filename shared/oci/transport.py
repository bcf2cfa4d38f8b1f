"""One HTTP exchange with a registry: auth retries, checked redirects, capped bodies, deadlines.

Every request has connect/read timeouts; every client operation runs under one overall
deadline (`Limits.deadline`) so that a registry dripping bytes cannot hold a caller forever.
Redirects are followed by hand for GET and HEAD only: at most `max_redirects`, never in a
loop, never from HTTPS down to HTTP, and credentials are dropped when the host changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from shared.oci.auth import Credentials, TokenCache
from shared.oci.errors import (
    RegistryAuthError,
    RegistryContentError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryTooLargeError,
    RegistryUnreachableError,
)

MiB = 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Limits:
    """Time and size bounds; the defaults suit signature checks over a slow uplink."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 120.0
    max_redirects: int = 5
    max_manifest_bytes: int = 4 * MiB
    max_blob_bytes: int = 8 * MiB
    max_index_bytes: int = 4 * MiB
    max_error_bytes: int = 64 * 1024


def safe_url(url: str) -> str:
    """scheme://host/path of a URL: no query (pre-signed URLs carry secrets), no user info."""
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"
        f"{parts.path}"
    )


@dataclass
class Transport:
    insecure: Collection[str]
    credentials: Mapping[str, Credentials]
    limits: Limits
    trust_env: bool = True
    tokens: TokenCache = field(default_factory=TokenCache)
    basic_hosts: set[str] = field(default_factory=set)
    _http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout)
            self._http = httpx.AsyncClient(
                timeout=timeout,
                follow_redirects=False,
                trust_env=self.trust_env,
                headers={"User-Agent": "pic-store", "Accept-Encoding": "identity"},
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def url(self, host: str, path: str) -> str:
        scheme = "http" if host in self.insecure else "https"
        return f"{scheme}://{host}{path}"

    @asynccontextmanager
    async def operation(self, what: str) -> AsyncIterator[None]:
        """Run one client operation under the deadline, translating transport failures."""
        try:
            async with asyncio.timeout(self.limits.deadline):
                yield
        except TimeoutError as exc:
            raise RegistryUnreachableError(
                f"{what}: no complete answer within the {self.limits.deadline:g} s deadline"
            ) from exc
        except httpx.TimeoutException as exc:
            raise RegistryUnreachableError(
                f"{what}: the registry stopped answering ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise RegistryUnreachableError(
                f"{what}: cannot talk to the registry ({type(exc).__name__}: {str(exc)[:200]})"
            ) from exc

    async def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        what: str,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send, following checked redirects for GET/HEAD; return the streamed response."""
        seen = {url}
        headers = dict(headers)
        for _ in range(self.limits.max_redirects + 1):
            request = self.http.build_request(method, url, headers=headers, content=content)
            response = await self.http.send(request, stream=True)
            if response.status_code not in _REDIRECTS or method not in ("GET", "HEAD"):
                return response
            location = response.headers.get("location")
            await response.aclose()
            target = self._redirect_target(url, location, seen, what)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers.pop("Authorization", None)
            seen.add(target)
            url = target
        raise RegistryProtocolError(
            f"{what}: more than {self.limits.max_redirects} redirects, last to {safe_url(url)}"
        )

    @staticmethod
    def _redirect_target(url: str, location: str | None, seen: set[str], what: str) -> str:
        if not location:
            raise RegistryProtocolError(f"{what}: redirect without a Location header")
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme
        if scheme not in ("http", "https"):
            raise RegistryProtocolError(f"{what}: redirect to a {scheme!r} URL")
        if urlsplit(url).scheme == "https" and scheme != "https":
            raise RegistryProtocolError(
                f"{what}: refused a redirect from HTTPS down to {safe_url(target)}"
            )
        if target in seen:
            raise RegistryProtocolError(f"{what}: redirect loop through {safe_url(target)}")
        return target

    async def read(self, response: httpx.Response, cap: int, what: str) -> bytes:
        """The body, refused early when its declared or actual length passes `cap`."""
        encoding = response.headers.get("content-encoding", "identity").lower()
        if encoding not in ("identity", ""):
            raise RegistryProtocolError(f"{what}: body sent with Content-Encoding {encoding!r}")
        declared = response.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RegistryProtocolError(f"{what}: invalid Content-Length {declared[:40]!r}")
            if int(declared) > cap:
                raise RegistryTooLargeError(
                    f"{what}: the registry announces {int(declared)} bytes, above the "
                    f"{cap} byte limit"
                )
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > cap:
                raise RegistryTooLargeError(f"{what}: more than {cap} bytes sent, refused")
        return bytes(body)

    async def read_json(self, response: httpx.Response, cap: int, what: str) -> object:
        body = await self.read(response, cap, what)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RegistryContentError(f"{what}: the answer is not valid JSON") from exc

    async def status_error(self, response: httpx.Response, what: str) -> RegistryError:
        """An error for an unexpected status, with the registry's own error codes if any."""
        status = response.status_code
        detail = ""
        try:
            data = json.loads(await self.read(response, self.limits.max_error_bytes, what))
            codes = [
                str(e.get("code", ""))[:60]
                for e in data.get("errors", [])[:3]
                if isinstance(e, dict)
            ]
            detail = f" ({', '.join(c for c in codes if c)})" if any(codes) else ""
        except (RegistryError, ValueError, AttributeError, TypeError, UnicodeDecodeError):
            detail = ""
        message = f"{what}: the registry answered HTTP {status}{detail}"
        if status == 404:
            return RegistryNotFoundError(message)
        if status in (401, 403):
            return RegistryAuthError(message + ": access denied, check the registry credentials")
        if status == 429 or status >= 500:
            return RegistryUnreachableError(message + ": the registry is failing or rate-limiting")
        return RegistryProtocolError(message)
