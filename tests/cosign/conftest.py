"""Fixtures for image-trust tests: the cosign fixture files, keys, and a loader that puts a
fixture image and its signatures into the real loopback registry as cosign stores them."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.embedded import ManagedProcess
from shared.cosign import PublicKey, generate_key_pair, load_public_key, signature_tag
from shared.cosign.classic import OCI_CONFIG, signature_config, signature_manifest
from shared.oci import OCI_MANIFEST, Descriptor, RegistryClient, Repository, sha256_digest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cosign-containers-image"
SIGSTORE_JSON = b"\x00sigstore-json\n"


def read_fixture(name: str) -> bytes:
    """A fixture file. containers/image keeps some as symlinks; this copy stores the link
    target as the file's text (e.g. `../dir-img-cosign-valid/manifest.json`), followed here."""
    path = FIXTURES / name
    data = path.read_bytes()
    if len(data) < 200 and data.startswith(b"../"):
        target = (path.parent / data.decode().strip()).resolve()
        return read_fixture(str(target.relative_to(FIXTURES)))
    return data


def fixture_signature(name: str) -> dict[str, Any]:
    """`\\x00sigstore-json\\n` + {"mimeType", "payload" (base64), "annotations"}."""
    data = read_fixture(name)
    assert data.startswith(SIGSTORE_JSON), name
    return json.loads(data[len(SIGSTORE_JSON) :])


def fixture_key(name: str) -> PublicKey:
    return load_public_key(read_fixture(name))


@pytest.fixture(scope="session")
def cosign_pub() -> PublicKey:
    return fixture_key("cosign.pub")


@pytest.fixture(scope="session")
def cosign2_pub() -> PublicKey:
    return fixture_key("cosign2.pub")


@pytest.fixture(scope="session")
def rekor_pub() -> PublicKey:
    return fixture_key("rekor.pub")


@pytest.fixture
async def client(registry_host: str) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(insecure_registries={registry_host}, trust_env=False) as c:
        yield c


@pytest.fixture
def repo(registry_host: str) -> Repository:
    return Repository(registry_host, f"pic-store-trust/{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def registry_storage(registry: ManagedProcess) -> Path:
    """The registry's filesystem storage (app.embedded.start_registry puts it there)."""
    return registry.log_path.parent / "storage" / "docker" / "registry" / "v2"


def plant_blob(storage: Path, repo: Repository, descriptor: dict[str, Any]) -> None:
    """The fixtures keep image manifests but not their layers (megabytes, irrelevant to
    signatures), and distribution refuses a manifest whose blobs it lacks. So a placeholder
    of the right size is written where distribution's filesystem driver keeps that digest,
    and linked into the repository: the manifest then uploads byte for byte."""
    hex_digest = descriptor["digest"].split(":", 1)[1]
    data = storage / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        with data.open("wb") as handle:
            handle.truncate(descriptor["size"])
    link = storage / "repositories" / repo.name / "_layers" / "sha256" / hex_digest / "link"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.write_text(descriptor["digest"])


async def push_image_manifest(
    client: RegistryClient, storage: Path, repo: Repository, manifest: bytes
) -> str:
    data = json.loads(manifest)
    for descriptor in [data["config"], *data["layers"]]:
        plant_blob(storage, repo, descriptor)
    pushed, _ = await client.put_manifest(
        repo, sha256_digest(manifest), manifest, data["mediaType"]
    )
    return pushed.digest


async def push_signatures(
    client: RegistryClient, repo: Repository, digest: str, signatures: Sequence[dict[str, Any]]
) -> None:
    """Store fixture signatures as cosign does: one layer each under `sha256-<hex>.sig`."""
    layers = []
    for signature in signatures:
        payload = base64.b64decode(signature["payload"])
        blob = await client.put_blob(repo, payload, signature["mimeType"])
        layers.append(
            Descriptor(
                signature["mimeType"], blob.digest, blob.size, signature["annotations"]
            ).to_json()
        )
    config = await client.put_blob(
        repo, signature_config([x["digest"] for x in layers]), OCI_CONFIG
    )
    await client.put_manifest(
        repo, signature_tag(digest), signature_manifest(config, layers), OCI_MANIFEST
    )


async def load_fixture(
    client: RegistryClient,
    storage: Path,
    repo: Repository,
    folder: str,
    manifest: bytes | None = None,
) -> str:
    """Push `folder`'s image manifest and its `signature-N` files; return the image digest."""
    manifest = manifest if manifest is not None else read_fixture(f"{folder}/manifest.json")
    digest = await push_image_manifest(client, storage, repo, manifest)
    names = sorted(p.name for p in (FIXTURES / folder).glob("signature-*"))
    await push_signatures(client, repo, digest, [fixture_signature(f"{folder}/{n}") for n in names])
    return digest


async def push_small_image(client: RegistryClient, repo: Repository, text: str = "hello") -> str:
    """A real one-layer OCI image (a tar.gz with one file), pushed under the tag `v1`."""
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer = await client.put_blob(
        repo, gzip.compress(raw.getvalue(), mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    config_json = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(raw.getvalue())]},
        "config": {"Cmd": ["/bin/true"]},
    }
    config = await client.put_blob(
        repo, json.dumps(config_json).encode(), "application/vnd.oci.image.config.v1+json"
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json()],
    }
    pushed, _ = await client.put_manifest(repo, "v1", json.dumps(manifest).encode(), OCI_MANIFEST)
    return pushed.digest


@pytest.fixture(scope="session")
def key_pair() -> tuple[bytes, bytes]:
    return generate_key_pair(b"test password")


@pytest.fixture(scope="session")
def other_key_pair() -> tuple[bytes, bytes]:
    return generate_key_pair(b"other password")
