"""Prometheus metrics of the shared infrastructure (the bus). Each service keeps its own in
its `metrics.py`. Labels never carry secrets or free text."""

from __future__ import annotations

from prometheus_client import Counter

BUS_MESSAGES = Counter(
    "pic_bus_messages_total",
    "Messages handled by a consumer, by outcome",
    ["consumer", "outcome"],
)
