"""The installer's Prometheus metrics. Labels never carry secrets or free text."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OPERATIONS = Counter(
    "pic_operations_total",
    "Life-cycle operations, by kind and result",
    ["kind", "result"],
)
STEP_SECONDS = Histogram(
    "pic_step_duration_seconds",
    "Duration of each saga step",
    ["kind", "step"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SERVICES_BY_STATE = Gauge("pic_services", "Store services by state", ["state"])
