from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.oci import Limits, RegistryClient, Repository
from tests.oci.hostile import HostileRegistry


@pytest.fixture
async def client(registry_host: str) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(insecure_registries={registry_host}, trust_env=False) as c:
        yield c


@pytest.fixture
def repo(registry_host: str) -> Repository:
    return Repository(registry_host, f"pic-store-oci/{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def hostile() -> AsyncIterator[HostileRegistry]:
    server = await HostileRegistry().start()
    yield server
    await server.stop()


TIGHT = Limits(
    connect_timeout=2.0,
    read_timeout=1.0,
    deadline=3.0,
    max_redirects=5,
    max_manifest_bytes=4 * 1024 * 1024,
    max_blob_bytes=1024 * 1024,
)


@pytest.fixture
async def hostile_client(hostile: HostileRegistry) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(
        insecure_registries={hostile.host}, limits=TIGHT, trust_env=False
    ) as c:
        yield c
