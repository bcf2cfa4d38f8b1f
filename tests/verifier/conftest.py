"""Fixtures for the verifier and the trust commands: signers (key pairs, also as files), a
registry client, small signed images, and a service folder that `publish` can build."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared.cosign import PrivateKey, load_private_key, load_public_key, sign_bundle, sign_classic
from shared.oci import RegistryClient, Repository
from tests.cosign.conftest import push_small_image, registry_storage
from tests.parts.docker_engine import docker
from tests.parts.image_set import WEB_ENTRYPOINT
from tests.parts.images import BASE_TAG
from tests.parts.store import web_manifest, web_template, write_store

__all__ = ["registry_storage"]


@dataclass(frozen=True)
class Signer:
    password: str = field(repr=False)
    private_pem: bytes = field(repr=False)
    public_pem: bytes = field(repr=False)

    @property
    def key(self) -> PrivateKey:
        return load_private_key(self.private_pem, self.password.encode())

    @property
    def key_id(self) -> str:
        return load_public_key(self.public_pem).key_id

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cosign.key").write_bytes(self.private_pem)
        (folder / "cosign.pub").write_bytes(self.public_pem)
        return folder / "cosign.key", folder / "cosign.pub"


def make_signer(password: str) -> Signer:
    from shared.cosign import generate_key_pair

    private_pem, public_pem = generate_key_pair(password.encode())
    return Signer(password, private_pem, public_pem)


@pytest.fixture(scope="session")
def signer() -> Signer:
    return make_signer("the store's password")


@pytest.fixture(scope="session")
def stranger() -> Signer:
    return make_signer("someone else's password")


@pytest.fixture
async def oci(registry_host: str) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(insecure_registries={registry_host}, trust_env=False) as client:
        yield client


def new_repo(registry_host: str, prefix: str = "pic-verifier") -> Repository:
    return Repository(registry_host, f"{prefix}/{uuid.uuid4().hex[:12]}")


async def small_image(
    oci: RegistryClient,
    registry_host: str,
    signer: Signer | None = None,
    *,
    bundle_only: bool = False,
    text: str = "hello",
) -> str:
    """A small real image pushed by digest; signed (classic, or bundle only) when asked."""
    repo = new_repo(registry_host)
    digest = await push_small_image(oci, repo, text)
    image = f"{repo}@{digest}"
    if signer is not None:
        key = signer.key
        await (sign_bundle(oci, image, key) if bundle_only else sign_classic(oci, image, key))
    return image


def cell_config(data_dir: Path, **image_verification: Any) -> None:
    """Write (or rewrite) <data dir>/config/api/cell_config.json's image_verification."""
    path = data_dir / "config" / "api" / "cell_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data["image_verification"] = image_verification
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def service_folder(root: Path, registry_host: str, sid: str, label: str = "1") -> Path:
    """A store with one web service whose folder holds a Dockerfile built FROM the local
    busybox base; its manifest names the tag `publish` will push."""
    manifest = web_manifest(sid, f"{registry_host}/roof/{sid}:1.0.0")
    store = write_store(root, [(manifest, web_template(manifest))])
    folder = store / "services" / sid
    (folder / "Dockerfile").write_text(
        f"FROM {BASE_TAG}\nCOPY entrypoint.sh /entrypoint.sh\n"
        f'LABEL ngo.pic.test.build={label}\nENTRYPOINT ["/entrypoint.sh"]\n'
    )
    (folder / "entrypoint.sh").write_text(WEB_ENTRYPOINT)
    (folder / "entrypoint.sh").chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def local_tags() -> Iterator[list[str]]:
    """Image tags the tests made in the Docker engine; untagged at the end of the session
    (after every stack, and so every container, is gone)."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        repository = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
        pushed = docker(
            "images",
            "--digests",
            "--format",
            "{{.Repository}}@{{.Digest}}",
            repository,
            check=False,
        )
        refs = [line for line in pushed.splitlines() if not line.endswith("@<none>")]
        docker("rmi", tag, *refs, check=False)
