"""The connection side of the registry client: config, auth retries, one request at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

import httpx

from shared.oci.auth import Credentials, parse_challenge
from shared.oci.bearer import authorization_for
from shared.oci.errors import RegistryAuthError
from shared.oci.reference import Repository
from shared.oci.transport import Limits, Transport


class RegistrySession:
    """Holds the HTTP client, the per-registry settings and the auth state."""

    def __init__(
        self,
        *,
        insecure_registries: Collection[str] = (),
        credentials: Mapping[str, Credentials] | None = None,
        limits: Limits | None = None,
        trust_env: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self._t = Transport(
            frozenset(insecure_registries), dict(credentials or {}), self.limits, trust_env
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._t.aclose()

    def _cached_auth(self, host: str, scope: str) -> str | None:
        token = self._t.tokens.get(host, scope)
        if token is not None:
            return f"Bearer {token}"
        credentials = self._t.credentials.get(host)
        if host in self._t.basic_hosts and credentials is not None:
            return credentials.basic_header()
        return None

    @asynccontextmanager
    async def _request(
        self,
        method: str,
        repo: Repository,
        path: str,
        what: str,
        *,
        push: bool = False,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> AsyncIterator[httpx.Response]:
        host = repo.api_host
        scope = f"repository:{repo.name}:{'pull,push' if push else 'pull'}"
        url = path if "://" in path else self._t.url(host, path)
        sent = dict(headers or {})
        cached = self._cached_auth(host, scope)
        if cached:
            sent["Authorization"] = cached
        response = await self._t.send(method, url, sent, what, content)
        if response.status_code == 401:
            challenge = parse_challenge(response.headers.get("www-authenticate"))
            await response.aclose()
            self._t.tokens.drop(host, scope)
            sent["Authorization"] = await authorization_for(self._t, host, scope, challenge, what)
            response = await self._t.send(method, url, sent, what, content)
            if response.status_code == 401:
                await response.aclose()
                raise RegistryAuthError(
                    f"{what}: {host} still refuses access after authenticating; "
                    "check the credentials configured for it"
                )
        try:
            yield response
        finally:
            await response.aclose()

    @property
    def transport(self) -> Transport:
        return self._t
