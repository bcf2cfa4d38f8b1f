"""Real cosign signatures (containers/image fixtures) stored in the real registry exactly as
cosign stores them, then verified, tampered with, and verified again."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.cosign import PublicKey, VerificationError, signature_tag, verify_image
from shared.oci import RegistryClient, Repository
from tests.cosign.conftest import (
    fixture_signature,
    load_fixture,
    push_image_manifest,
    push_signatures,
    read_fixture,
)

pytestmark = pytest.mark.integration

VALID_DIGEST = "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
REKOR_DIGEST = "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a"
NO_KEY = "signature does not verify under any trusted key"


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def one_hex_changed(digest: str) -> str:
    last = digest[-1]
    return digest[:-1] + ("0" if last != "0" else "1")


async def reason_of(
    client: RegistryClient, image: str, keys: list[PublicKey], rekor: PublicKey | None = None
) -> str:
    with pytest.raises(VerificationError) as caught:
        await verify_image(client, image, keys, rekor)
    return caught.value.reason


async def test_valid_fixture_verifies_under_cosign_pub(
    client, registry_storage: Path, repo: Repository, cosign_pub, cosign2_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid")
    assert digest == VALID_DIGEST
    fetched = await client.get_manifest(repo, digest)
    assert fetched.content == read_fixture("dir-img-cosign-valid/manifest.json")
    stored = await client.get_manifest(repo, signature_tag(digest))
    [layer] = stored.layers
    expected = fixture_signature("dir-img-cosign-valid/signature-1")
    assert (layer.media_type, dict(layer.annotations)) == (
        expected["mimeType"],
        expected["annotations"],
    )
    verified = await verify_image(client, f"{repo}@{digest}", [cosign2_pub, cosign_pub])
    assert (verified.key_id, verified.format) == (cosign_pub.key_id, "classic")
    assert verified.rekor_verified is False


async def test_valid_fixture_fails_under_the_wrong_key(client, registry_storage, repo, cosign2_pub):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid")
    assert await reason_of(client, f"{repo}@{digest}", [cosign2_pub]) == NO_KEY


async def test_two_signatures_each_verify(client, registry_storage, repo, cosign_pub):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid-2")
    assert digest == VALID_DIGEST
    assert (await verify_image(client, f"{repo}@{digest}", [cosign_pub])).format == "classic"
    second = fixture_signature("dir-img-cosign-valid-2/signature-2")
    await push_signatures(client, repo, digest, [second])
    assert (
        await verify_image(client, f"{repo}@{digest}", [cosign_pub])
    ).key_id == cosign_pub.key_id


@pytest.mark.parametrize("index", [0, 40, 150, -1])
async def test_one_byte_change_of_payload_fails(
    client, registry_storage, repo, cosign_pub, index: int
):
    manifest = read_fixture("dir-img-cosign-valid/manifest.json")
    digest = await push_image_manifest(client, registry_storage, repo, manifest)
    signature = copy.deepcopy(fixture_signature("dir-img-cosign-valid/signature-1"))
    payload = base64.b64decode(signature["payload"])
    signature["payload"] = base64.b64encode(flip(payload, index)).decode()
    await push_signatures(client, repo, digest, [signature])
    assert await reason_of(client, f"{repo}@{digest}", [cosign_pub]) == NO_KEY


@pytest.mark.parametrize("index", [0, 5, 20, 40, -1])
async def test_one_byte_change_of_signature_fails(
    client, registry_storage, repo, cosign_pub, index: int
):
    manifest = read_fixture("dir-img-cosign-valid/manifest.json")
    digest = await push_image_manifest(client, registry_storage, repo, manifest)
    signature = copy.deepcopy(fixture_signature("dir-img-cosign-valid/signature-1"))
    annotations: dict[str, Any] = signature["annotations"]
    raw = base64.b64decode(annotations["dev.cosignproject.cosign/signature"])
    annotations["dev.cosignproject.cosign/signature"] = base64.b64encode(flip(raw, index)).decode()
    await push_signatures(client, repo, digest, [signature])
    assert await reason_of(client, f"{repo}@{digest}", [cosign_pub]) == NO_KEY


async def test_one_byte_change_of_digest_finds_no_signature(
    client, registry_storage, repo, cosign_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid")
    other = one_hex_changed(digest)
    reason = await reason_of(client, f"{repo}@{other}", [cosign_pub])
    assert reason == f"no signature found for {other}"


async def test_signature_moved_to_another_digest_names_the_signed_digest(
    client, registry_storage, repo, cosign_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid")
    other = one_hex_changed(digest)
    await push_signatures(
        client, repo, other, [fixture_signature("dir-img-cosign-valid/signature-1")]
    )
    reason = await reason_of(client, f"{repo}@{other}", [cosign_pub])
    assert reason == f"signed payload names digest {digest}, not {other}"


async def test_manifest_digest_error_fixture(client, registry_storage, repo, cosign_pub):
    """The fixture's manifest is a link to a containers/image file not in this copy
    (`v2s1-invalid-signatures.manifest.json`, schema 1, which distribution 2.8 refuses).
    What it shows needs any manifest other than the signed one: the signed manifest,
    re-serialised with indentation, has the same content and another digest."""
    assert read_fixture("dir-img-cosign-manifest-digest-error/signature-1") == read_fixture(
        "dir-img-cosign-valid/signature-1"
    )
    signed = json.loads(read_fixture("dir-img-cosign-valid/manifest.json"))
    manifest = json.dumps(signed, indent=3).encode()
    digest = await load_fixture(
        client, registry_storage, repo, "dir-img-cosign-manifest-digest-error", manifest=manifest
    )
    assert digest != VALID_DIGEST
    reason = await reason_of(client, f"{repo}@{digest}", [cosign_pub])
    assert reason == f"signed payload names digest {VALID_DIGEST}, not {digest}"


async def test_unknown_key_signature_is_rejected_under_both_keys(
    client, registry_storage, repo, cosign_pub, cosign2_pub
):
    manifest = read_fixture("dir-img-cosign-valid/manifest.json")
    digest = await push_image_manifest(client, registry_storage, repo, manifest)
    await push_signatures(client, repo, digest, [fixture_signature("unknown-cosign-key.signature")])
    assert await reason_of(client, f"{repo}@{digest}", [cosign_pub, cosign2_pub]) == NO_KEY


async def test_unsigned_digest_has_no_signature(client, registry_storage, repo, cosign_pub):
    manifest = json.dumps(json.loads(read_fixture("dir-img-cosign-valid/manifest.json"))).encode()
    digest = await push_image_manifest(client, registry_storage, repo, manifest)
    reason = await reason_of(client, f"{repo}@{digest}", [cosign_pub])
    assert reason == f"no signature found for {digest}"


async def test_reference_without_digest_is_refused(client, repo, cosign_pub):
    reason = await reason_of(client, f"{repo}:latest", [cosign_pub])
    assert "has no @sha256 digest" in reason


async def test_rekor_fixture_verifies_with_rekor_key(
    client, registry_storage, repo, cosign2_pub, rekor_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-key-rekor-valid")
    assert digest == REKOR_DIGEST
    verified = await verify_image(client, f"{repo}@{digest}", [cosign2_pub], rekor_pub)
    assert verified.rekor_verified is True
    assert verified.integrated_time == 1674251859
    offline = await verify_image(client, f"{repo}@{digest}", [cosign2_pub])
    assert offline.rekor_verified is False


def _tampered_bundle(change: str) -> dict[str, Any]:
    signature = copy.deepcopy(fixture_signature("dir-img-cosign-key-rekor-valid/signature-1"))
    annotations = signature["annotations"]
    bundle = json.loads(annotations["dev.sigstore.cosign/bundle"])
    if change == "set":
        raw = base64.b64decode(bundle["SignedEntryTimestamp"])
        bundle["SignedEntryTimestamp"] = base64.b64encode(flip(raw, 30)).decode()
    elif change == "integrated_time":
        bundle["Payload"]["integratedTime"] += 1
    elif change == "log_index":
        bundle["Payload"]["logIndex"] -= 1
    annotations["dev.sigstore.cosign/bundle"] = json.dumps(bundle)
    return signature


@pytest.mark.parametrize("change", ["set", "integrated_time", "log_index"])
async def test_rekor_fixture_fails_when_the_set_is_tampered(
    client, registry_storage, repo, cosign2_pub, rekor_pub, change
):
    manifest = read_fixture("dir-img-cosign-key-rekor-valid/manifest.json")
    digest = await push_image_manifest(client, registry_storage, repo, manifest)
    await push_signatures(client, repo, digest, [_tampered_bundle(change)])
    reason = await reason_of(client, f"{repo}@{digest}", [cosign2_pub], rekor_pub)
    assert "signed entry timestamp does not verify" in reason
    assert (await verify_image(client, f"{repo}@{digest}", [cosign2_pub])).rekor_verified is False


async def test_rekor_key_configured_requires_a_log_entry(
    client, registry_storage, repo, cosign_pub, rekor_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-valid")
    reason = await reason_of(client, f"{repo}@{digest}", [cosign_pub], rekor_pub)
    assert "no Rekor transparency-log entry" in reason


async def test_rekor_entry_from_another_log_is_refused(
    client, registry_storage, repo, cosign2_pub, cosign_pub
):
    digest = await load_fixture(client, registry_storage, repo, "dir-img-cosign-key-rekor-valid")
    reason = await reason_of(client, f"{repo}@{digest}", [cosign2_pub], cosign_pub)
    assert "not from the configured Rekor key" in reason
