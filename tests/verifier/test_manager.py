"""The verifier's manager in process, against the real loopback registry: modes, pinning,
keys read fresh from the cell config, the cache, and bounded refusals from a bad registry."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.verifier.manager import VerifierManager
from services.verifier.settings import VerifierSettings
from shared.oci import RegistryClient, parse_reference
from tests.oci.hostile import HostileRegistry, Request
from tests.verifier.conftest import Signer, cell_config, small_image

pytestmark = pytest.mark.integration


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def manager(tmp_path: Path):
    made = VerifierManager(VerifierSettings(data_dir=tmp_path, verify_timeout=3.0))
    yield made
    await made.close()


def trust(data_dir: Path, registry_host: str, *signers: Signer, mode: str = "enforce") -> None:
    cell_config(
        data_dir,
        mode=mode,
        public_keys=[s.public_pem.decode() for s in signers],
        insecure_registries=[registry_host],
    )


async def test_signed_image_is_verified_and_pinned(
    manager, tmp_path, registry_host, oci, signer: Signer
) -> None:
    image = await small_image(oci, registry_host, signer)
    trust(tmp_path, registry_host, signer)
    decision = await manager.verify(image)
    assert decision.ok, decision.reason
    assert decision.details == {
        "image": image,
        "digest": image.split("@")[1],
        "key_id": signer.key_id,
        "format": "classic",
        "rekor": "not checked",
    }


async def test_bundle_only_signature_verifies(
    manager, tmp_path, registry_host, oci, signer: Signer
) -> None:
    image = await small_image(oci, registry_host, signer, bundle_only=True)
    trust(tmp_path, registry_host, signer)
    decision = await manager.verify(image)
    assert decision.ok and decision.details["format"] == "bundle"


async def test_refusals_say_why(
    manager, tmp_path, registry_host, oci, signer: Signer, stranger: Signer
) -> None:
    unsigned = await small_image(oci, registry_host)
    foreign = await small_image(oci, registry_host, stranger)
    trust(tmp_path, registry_host, signer)
    before = metric("pic_verifier_verifications_total", mode="enforce", result="unsigned")
    no_sig = await manager.verify(unsigned)
    assert not no_sig.ok and no_sig.result == "unsigned"
    assert f"no signature found for {unsigned.split('@')[1]}" in no_sig.reason
    assert no_sig.warning == ""
    wrong_key = await manager.verify(foreign)
    assert "does not verify under any trusted key" in wrong_key.reason
    assert (
        metric("pic_verifier_verifications_total", mode="enforce", result="unsigned") == before + 2
    )


async def test_a_tag_is_refused_in_enforce_with_the_digest_to_pin(
    manager, tmp_path, registry_host, oci, signer: Signer
) -> None:
    image = await small_image(oci, registry_host, signer)
    tagged = image.split("@")[0] + ":v1"
    trust(tmp_path, registry_host, signer)
    decision = await manager.verify(tagged)
    assert not decision.ok and decision.result == "unpinned"
    assert "is not pinned by a @sha256 digest" in decision.reason
    assert f"pin the manifest's image to {image}" in decision.reason


async def test_warn_mode_resolves_a_tag_and_says_so(
    manager, tmp_path, registry_host, oci, signer: Signer, stranger: Signer
) -> None:
    image = await small_image(oci, registry_host, signer)
    tagged = image.split("@")[0] + ":v1"
    trust(tmp_path, registry_host, signer, mode="warn")
    decision = await manager.verify(tagged)
    assert not decision.ok and decision.warning == decision.reason
    assert f"signed by key {signer.key_id[:16]}" in decision.reason
    assert f"pin the manifest's image to {image}" in decision.reason
    trust(tmp_path, registry_host, stranger, mode="warn")
    other = await manager.verify(tagged)
    assert "which is not verified: signature does not verify" in other.reason


async def test_off_checks_nothing(manager, tmp_path, registry_host) -> None:
    cell_config(tmp_path, mode="off")
    decision = await manager.verify(f"{registry_host}/nowhere/at-all:1")
    assert decision.ok and decision.result == "skipped" and decision.details == {}


async def test_cache_hit_then_emptied_by_a_key_change(
    manager, tmp_path, registry_host, oci, signer: Signer, stranger: Signer
) -> None:
    image = await small_image(oci, registry_host, signer)
    trust(tmp_path, registry_host, signer)
    hits, clears = (
        metric("pic_verifier_cache_hits_total"),
        metric("pic_verifier_cache_clears_total"),
    )
    first, second = await manager.verify(image), await manager.verify(image)
    assert first.ok and not first.cached and second.ok and second.cached
    assert metric("pic_verifier_cache_hits_total") == hits + 1
    trust(tmp_path, registry_host, stranger)  # the store's key is no longer trusted
    refused = await manager.verify(image)
    assert not refused.ok and "does not verify under any trusted key" in refused.reason
    assert metric("pic_verifier_cache_clears_total") == clears + 1
    assert len(manager.cache) == 0
    trust(tmp_path, registry_host, signer, stranger)
    again = await manager.verify(image)
    assert again.ok and not again.cached  # asked the registry again
    assert metric("pic_verifier_cache_hits_total") == hits + 1


async def test_removed_signature_is_not_served_after_the_cache_is_emptied(
    manager, tmp_path, registry_host, oci, signer: Signer
) -> None:
    # Only successes are cached: a refusal is asked again, so signing after a refusal works.
    image = await small_image(oci, registry_host)
    trust(tmp_path, registry_host, signer)
    assert not (await manager.verify(image)).ok
    from shared.cosign import sign_classic

    await sign_classic(oci, image, signer.key)
    assert (await manager.verify(image)).ok


async def test_config_problems_are_refusals(manager, tmp_path, registry_host) -> None:
    path = tmp_path / "config" / "api" / "cell_config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    broken = await manager.verify(f"{registry_host}/x/y@sha256:" + "a" * 64)
    assert (
        not broken.ok and broken.result == "config_error" and "not readable JSON" in broken.reason
    )
    path.unlink()
    cell_config(tmp_path, mode="enforce", public_keys=["/nowhere/cosign.pub"])
    missing = await manager.verify(f"{registry_host}/x/y@sha256:" + "a" * 64)
    assert not missing.ok and "cannot read the key file /nowhere/cosign.pub" in missing.reason
    cell_config(tmp_path, mode="enforce", public_keys=[])
    empty = await manager.verify(f"{registry_host}/x/y@sha256:" + "a" * 64)
    assert "no trusted public key is configured" in empty.reason


async def test_unreachable_and_hanging_registries_give_reasons_in_time(
    manager, tmp_path, signer: Signer
) -> None:
    hostile = await HostileRegistry().start()

    @hostile.route("/v2/")
    async def _(request: Request) -> None:
        await asyncio.sleep(3600)  # answers nothing, ever

    try:
        cell_config(
            tmp_path,
            mode="enforce",
            public_keys=[signer.public_pem.decode()],
            insecure_registries=[hostile.host, "127.0.0.1:9"],
        )
        started = time.monotonic()
        hung = await manager.verify(f"{hostile.host}/roof/x@sha256:" + "a" * 64)
        assert time.monotonic() - started < 6
        assert not hung.ok and hung.result == "registry_error"
        assert "could not check the signature" in hung.reason or "took longer" in hung.reason
        closed = await manager.verify("127.0.0.1:9/roof/x@sha256:" + "a" * 64)
        assert not closed.ok and closed.result == "registry_error"
    finally:
        await hostile.stop()


async def test_signature_reused_only_for_the_same_repository(
    manager, tmp_path, registry_host, oci: RegistryClient, signer: Signer
) -> None:
    image = await small_image(oci, registry_host, signer)
    trust(tmp_path, registry_host, signer)
    assert (await manager.verify(image)).ok
    ref = parse_reference(image)
    copy = f"{registry_host}/pic-verifier/copy-{ref.repository.name[-12:]}@{ref.digest}"
    decision = await manager.verify(copy)  # same digest, another repository, no signature
    assert not decision.ok
