"""The client against the real registry (Debian's docker-registry, distribution 2.8)."""

from __future__ import annotations

import json
import time

import pytest

from shared.oci import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    DigestMismatchError,
    RegistryClient,
    RegistryContentError,
    RegistryNotFoundError,
    RegistryTooLargeError,
    RegistryUnreachableError,
    Repository,
    referrers_tag,
    sha256_digest,
)
from shared.oci.transport import Limits

pytestmark = pytest.mark.integration

ARTIFACT = "application/vnd.example.note+json"


async def push_image(
    client: RegistryClient, repo: Repository, tag: str = "v1", media_type: str = OCI_MANIFEST
) -> tuple[bytes, str]:
    layer = await client.put_blob(repo, b"layer bytes " + tag.encode())
    config = await client.put_blob(repo, b'{"os":"linux"}')
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {**config.to_json(), "mediaType": "application/vnd.oci.image.config.v1+json"},
            "layers": [
                {**layer.to_json(), "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
            ],
        }
    ).encode()
    pushed, subject_taken = await client.put_manifest(repo, tag, manifest, media_type)
    assert subject_taken is False
    return manifest, pushed.digest


async def test_blob_round_trip_and_existence(client, repo):
    data = b"some blob \x00\xff" * 100
    descriptor = await client.put_blob(repo, data, "application/octet-stream")
    assert descriptor == Descriptor("application/octet-stream", sha256_digest(data), len(data))
    assert await client.blob_exists(repo, descriptor.digest)
    assert await client.get_blob(repo, descriptor) == data
    assert await client.put_blob(repo, data) == descriptor  # already there: no upload
    assert not await client.blob_exists(repo, sha256_digest(b"absent"))


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
async def test_manifest_by_tag_digest_and_head(client, repo, media_type):
    content, digest = await push_image(client, repo, media_type=media_type)
    by_tag = await client.get_manifest(repo, "v1")
    by_digest = await client.get_manifest(repo, digest)
    assert by_tag.content == by_digest.content == content
    assert (by_tag.digest, by_tag.media_type) == (digest, media_type)
    assert await client.head_manifest(repo, "v1") == Descriptor(media_type, digest, len(content))
    assert [d.media_type for d in by_tag.layers] == ["application/vnd.oci.image.layer.v1.tar+gzip"]


async def test_list_tags(client, repo):
    for tag in ("a", "b", "c"):
        await push_image(client, repo, tag)
    assert sorted(await client.list_tags(repo)) == ["a", "b", "c"]


async def test_missing_things_are_not_found_errors(client, repo):
    await push_image(client, repo)
    with pytest.raises(RegistryNotFoundError, match=r"manifest .*:nope: .*HTTP 404"):
        await client.get_manifest(repo, "nope")
    missing = Descriptor("application/octet-stream", sha256_digest(b"missing"), 7)
    with pytest.raises(RegistryNotFoundError, match="BLOB_UNKNOWN"):
        await client.get_blob(repo, missing)
    with pytest.raises(RegistryNotFoundError):
        await client.list_tags(Repository(repo.registry, "never/pushed"))


async def test_blob_above_the_cap_is_refused_without_a_request(client, repo):
    big = Descriptor("application/octet-stream", sha256_digest(b"x"), 10 * 1024**3)
    started = time.monotonic()
    with pytest.raises(RegistryTooLargeError, match="above the"):
        await client.get_blob(repo, big)
    assert time.monotonic() - started < 0.5


async def test_blob_with_a_lying_descriptor_is_refused(client, repo):
    data = b"0123456789" * 10
    real = await client.put_blob(repo, data)
    shorter = Descriptor(real.media_type, real.digest, real.size - 1)
    with pytest.raises(RegistryTooLargeError):
        await client.get_blob(repo, shorter)
    longer = Descriptor(real.media_type, real.digest, real.size + 1)
    with pytest.raises(RegistryContentError, match="got 100 bytes"):
        await client.get_blob(repo, longer)


async def test_pushing_under_the_wrong_digest_is_refused_locally(client, repo):
    with pytest.raises(DigestMismatchError):
        await client.put_manifest(repo, sha256_digest(b"other"), b"{}", OCI_MANIFEST)


async def test_referrers_fall_back_to_the_tag_schema(client, repo):
    _, digest = await push_image(client, repo)
    assert await client.referrers(repo, digest) == []
    subject = await client.head_manifest(repo, digest)
    empty = await client.put_blob(repo, b"{}", "application/vnd.oci.empty.v1+json")
    note = await client.put_blob(repo, b'{"note": 1}', ARTIFACT)
    referrer = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT,
            "config": empty.to_json(),
            "layers": [note.to_json()],
            "subject": subject.to_json(),
            "annotations": {"purpose": "test"},
        }
    ).encode()
    entry = await client.push_referrer(repo, referrer, OCI_MANIFEST, subject)
    assert await client.push_referrer(repo, referrer, OCI_MANIFEST, subject) == entry
    assert entry.artifact_type == ARTIFACT
    assert await client.referrers(repo, digest) == [entry]
    assert await client.referrers(repo, digest, ARTIFACT) == [entry]
    assert await client.referrers(repo, digest, "application/other") == []
    index = await client.get_manifest(repo, referrers_tag(digest), accept=(OCI_INDEX,))
    assert index.manifests == [entry]
    assert dict(entry.annotations) == {"purpose": "test"}


async def test_unreachable_registry_fails_fast():
    limits = Limits(connect_timeout=1.0, read_timeout=1.0, deadline=3.0)
    async with RegistryClient(
        insecure_registries={"127.0.0.1:9"}, limits=limits, trust_env=False
    ) as client:
        started = time.monotonic()
        with pytest.raises(RegistryUnreachableError, match="cannot talk to the registry"):
            await client.get_manifest(Repository("127.0.0.1:9", "x"), "latest")
        assert time.monotonic() - started < 3.5
