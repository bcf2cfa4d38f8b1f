"""The backup service's Prometheus metrics. Labels are fixed words and service ids: never a
path, a key or a secret."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RUNS = Counter(
    "pic_backup_runs_total", "Backups, restores and verifications, by result", ["action", "result"]
)
BYTES = Counter("pic_backup_bytes_total", "Bytes of volume data archived (before compression)")
SECONDS = Histogram(
    "pic_backup_duration_seconds",
    "Duration of each backup, restore or verification",
    ["action"],
    buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
LAST_GOOD_AGE = Gauge(
    "pic_backup_last_good_age_seconds",
    "Age of the newest complete backup (not failed verification) of each service",
    ["service"],
)
