"""The installer's Prometheus metrics. Labels never carry secrets or free text."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.events.messages import OperationKind, OperationStatus

OPERATIONS = Counter(
    "pic_operations_total",
    "Life-cycle operations, by kind and result",
    ["kind", "result"],
)
# Every kind and result from the start, at 0: the first failure of a kind is an increase a
# dashboard sees, not a series that appears already at 1.
for _kind in OperationKind:
    for _status in OperationStatus:
        OPERATIONS.labels(_kind.value, _status.value)
STEP_SECONDS = Histogram(
    "pic_step_duration_seconds",
    "Duration of each saga step",
    ["kind", "step"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SERVICES_BY_STATE = Gauge("pic_services", "Store services by state", ["state"])
