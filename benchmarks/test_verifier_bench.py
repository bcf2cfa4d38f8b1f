"""Verification latency, cold (cache miss) and cached, against one registry round trip.

Everything is measured in this run against the real loopback registry: the unit is the
time of one HEAD of the image manifest over the verifier's own warm connection, so the
ratios say how many round trips a verification costs. "Cold" is a verification with an
empty cache (a classic signature: the .sig manifest and its payload blob are fetched);
"cached" is the answer for the same digest and keys again. Both go through the verifier's
manager as a request does: the cell config and the trusted keys are read from disk each time.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from services.verifier.cache import VerificationCache
from services.verifier.manager import VerifierManager
from services.verifier.settings import VerifierSettings
from shared.cosign import generate_key_pair, load_private_key, sign_bundle, sign_classic
from shared.oci import Repository, parse_reference
from tests.cosign.conftest import push_small_image

pytestmark = pytest.mark.slow

ROUNDS = {"head": 50, "cold": 30, "cached": 300}


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[VerifierManager]:
    # One log line per verification would drown the numbers: warnings only, while measuring.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    made = VerifierManager(VerifierSettings(data_dir=tmp_path))
    yield made
    await made.close()
    structlog.reset_defaults()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def test_verification_latency_cold_and_cached(
    manager: VerifierManager, tmp_path: Path, registry_host: str
) -> None:
    private_pem, public_pem = generate_key_pair(b"bench")
    config = tmp_path / "config" / "api" / "cell_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(
        json.dumps(
            {
                "image_verification": {
                    "mode": "enforce",
                    "public_keys": [public_pem.decode()],
                    "insecure_registries": [registry_host],
                }
            }
        )
    )
    client = await manager.registries.client([registry_host])
    repo = Repository(registry_host, f"pic-bench/{uuid.uuid4().hex[:12]}")
    key = load_private_key(private_pem, b"bench")
    image = f"{repo}@{await push_small_image(client, repo)}"
    await sign_classic(client, image, key)
    bundled_repo = Repository(registry_host, f"pic-bench/{uuid.uuid4().hex[:12]}")
    bundled = f"{bundled_repo}@{await push_small_image(client, bundled_repo, 'other')}"
    await sign_bundle(client, bundled, key)
    ref = parse_reference(image)
    assert (await manager.verify(image)).ok  # warm the connection and the code paths

    head, cold, cold_bundle, cached = [], [], [], []
    for _ in range(ROUNDS["head"]):
        start = time.perf_counter()
        await client.head_manifest(ref.repository, ref.digest or "")
        head.append(time.perf_counter() - start)
    for _ in range(ROUNDS["cold"]):
        manager.cache = VerificationCache(1024, 3600)
        start = time.perf_counter()
        decision = await manager.verify(image)
        cold.append(time.perf_counter() - start)
        assert decision.ok and not decision.cached
        start = time.perf_counter()
        decision = await manager.verify(bundled)
        cold_bundle.append(time.perf_counter() - start)
        assert decision.ok and decision.details["format"] == "bundle"
    for _ in range(ROUNDS["cached"]):
        start = time.perf_counter()
        decision = await manager.verify(image)
        cached.append(time.perf_counter() - start)
        assert decision.ok and decision.cached

    rtt, c_cold, c_cached = median_ms(head), median_ms(cold), median_ms(cached)
    c_bundle = median_ms(cold_bundle)
    print("\nverifier: verification latency (medians, loopback registry)")
    print(f"  registry round trip (HEAD manifest): {rtt:8.3f} ms   (n={len(head)})")
    print(
        f"  cold, classic signature (miss):      {c_cold:8.3f} ms   (n={len(cold)})"
        f"   = {c_cold / rtt:6.2f} x round trip"
    )
    print(
        f"  cold, cosign 3 bundle (referrers):   {c_bundle:8.3f} ms   (n={len(cold_bundle)})"
        f"   = {c_bundle / rtt:6.2f} x round trip"
    )
    print(
        f"  cached (cache hit):                  {c_cached:8.3f} ms   (n={len(cached)})"
        f"   = {c_cached / rtt:6.2f} x round trip"
    )
    print(f"  cold / cached: {c_cold / c_cached:.1f}")

    assert c_cached < c_cold
    assert c_cold < 200 * rtt + 50, "a cold verification should be a handful of round trips"
    assert c_cached < 50, "a cache hit should not take tens of milliseconds"
