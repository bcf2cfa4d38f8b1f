"""The registry client the verifier asks, kept between requests (its connections and bearer
tokens are worth reusing) and rebuilt when the config's insecure registries change."""

from __future__ import annotations

from collections.abc import Collection

from shared.oci import RegistryClient


class Registries:
    def __init__(self) -> None:
        self._client: RegistryClient | None = None
        self._insecure: frozenset[str] = frozenset()

    async def client(self, insecure: Collection[str]) -> RegistryClient:
        """A client that speaks plain HTTP to exactly the registries named `insecure`."""
        wanted = frozenset(insecure)
        if self._client is None or wanted != self._insecure:
            await self.close()
            self._client = RegistryClient(insecure_registries=wanted)
            self._insecure = wanted
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
