"""The verifier's Prometheus metrics. Labels are closed sets: no image names, no keys."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# result: verified | unsigned | unpinned | registry_error | config_error | skipped
VERIFICATIONS = Counter(
    "pic_verifier_verifications_total",
    "Image verifications, by mode and result",
    ["mode", "result"],
)
VERIFY_SECONDS = Histogram(
    "pic_verifier_verification_seconds",
    "Time to answer one verification, by cache outcome (hit, miss, none)",
    ["cache"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CACHE_HITS = Counter("pic_verifier_cache_hits_total", "Verifications answered from the cache")
CACHE_MISSES = Counter(
    "pic_verifier_cache_misses_total", "Verifications that had to ask the registry"
)
CACHE_CLEARS = Counter(
    "pic_verifier_cache_clears_total",
    "Times the cache was emptied because the trusted keys changed",
)
CACHE_ENTRIES = Gauge("pic_verifier_cache_entries", "Successful verifications held in the cache")
