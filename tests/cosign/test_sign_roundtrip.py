"""keygen → sign (both formats) → verify, against the real registry."""

from __future__ import annotations

import json

import pytest

from shared.cosign import (
    BUNDLE_V03,
    SigningError,
    VerificationError,
    load_private_key,
    load_public_key,
    sign_bundle,
    sign_classic,
    signature_tag,
    verify_image,
)
from shared.cosign.bundle import make_bundle, make_statement, pae
from shared.oci import OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, referrers_tag
from tests.cosign.conftest import push_small_image

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def signer(key_pair):
    return load_private_key(key_pair[0], b"test password")


@pytest.fixture(scope="session")
def stranger(other_key_pair):
    return load_private_key(other_key_pair[0], b"other password")


async def test_sign_classic_then_verify(client, repo, key_pair, signer, cosign_pub):
    digest = await push_small_image(client, repo)
    await sign_classic(client, f"{repo}@{digest}", signer)
    public = load_public_key(key_pair[1])
    verified = await verify_image(client, f"{repo}@{digest}", [cosign_pub, public])
    assert (verified.key_id, verified.format, verified.digest) == (public.key_id, "classic", digest)
    stored = await client.get_manifest(repo, signature_tag(digest))
    assert stored.media_type == OCI_MANIFEST
    [layer] = stored.layers
    assert layer.media_type == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert "dev.cosignproject.cosign/signature" in layer.annotations


async def test_second_classic_signature_is_appended_once(client, repo, signer, stranger):
    digest = await push_small_image(client, repo)
    for key in (signer, stranger, stranger):
        await sign_classic(client, f"{repo}@{digest}", key)
    stored = await client.get_manifest(repo, signature_tag(digest))
    assert len(stored.layers) == 2
    for key in (signer, stranger):
        verified = await verify_image(client, f"{repo}@{digest}", [key.public])
        assert verified.key_id == key.public.key_id


async def test_sign_bundle_then_verify(client, repo, signer, cosign_pub):
    digest = await push_small_image(client, repo)
    await sign_bundle(client, f"{repo}@{digest}", signer)
    verified = await verify_image(client, f"{repo}@{digest}", [cosign_pub, signer.public])
    assert (verified.key_id, verified.format) == (signer.public.key_id, "bundle")
    # distribution 2.8 has no referrers API: the fallback index must list the bundle.
    index = await client.get_manifest(repo, referrers_tag(digest), accept=(OCI_INDEX,))
    [entry] = index.manifests
    assert entry.artifact_type == BUNDLE_V03
    assert (
        entry.annotations["dev.sigstore.bundle.predicateType"]
        == "https://sigstore.dev/cosign/sign/v1"
    )
    manifest = await client.get_manifest(repo, entry.digest)
    assert manifest.data["artifactType"] == BUNDLE_V03
    assert manifest.config is not None
    assert manifest.config.media_type == OCI_EMPTY
    assert manifest.subject is not None
    assert manifest.subject.digest == digest
    assert [d.media_type for d in manifest.layers] == [BUNDLE_V03]


async def test_two_bundles_share_the_fallback_index(client, repo, signer, stranger):
    digest = await push_small_image(client, repo)
    await sign_bundle(client, f"{repo}@{digest}", stranger)
    await sign_bundle(client, f"{repo}@{digest}", signer)
    referrers = await client.referrers(repo, digest, BUNDLE_V03)
    assert len(referrers) == 2
    assert [r.digest for r in referrers] == sorted(r.digest for r in referrers)
    assert (await verify_image(client, f"{repo}@{digest}", [signer.public])).format == "bundle"


@pytest.mark.parametrize("sign", [sign_classic, sign_bundle])
async def test_signature_by_an_unknown_key_fails(client, repo, signer, stranger, sign):
    digest = await push_small_image(client, repo)
    await sign(client, f"{repo}@{digest}", stranger)
    with pytest.raises(VerificationError) as caught:
        await verify_image(client, f"{repo}@{digest}", [signer.public])
    assert caught.value.reason == "signature does not verify under any trusted key"


async def test_bundle_for_another_digest_is_refused(client, repo, signer):
    """A valid bundle, signed for image A, attached to image B by hand."""
    digest_a = await push_small_image(client, repo, "a")
    digest_b = await push_small_image(client, repo, "b")
    statement = make_statement(digest_a)
    signature = signer.sign(pae("application/vnd.in-toto+json", statement))
    blob = await client.put_blob(repo, make_bundle(statement, signature, signer.public), BUNDLE_V03)
    config = await client.put_blob(repo, b"{}", OCI_EMPTY)
    subject = await client.head_manifest(repo, digest_b)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_V03,
        "config": config.to_json(),
        "layers": [blob.to_json()],
        "subject": subject.to_json(),
    }
    await client.push_referrer(repo, json.dumps(manifest).encode(), OCI_MANIFEST, subject)
    with pytest.raises(VerificationError) as caught:
        await verify_image(client, f"{repo}@{digest_b}", [signer.public])
    assert caught.value.reason == f"signed statement names digest {digest_a}, not {digest_b}"


async def test_signing_needs_a_digest(client, repo, signer):
    with pytest.raises(SigningError, match="no @sha256 digest"):
        await sign_classic(client, f"{repo}:v1", signer)
