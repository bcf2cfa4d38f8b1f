"""Prometheus metrics of the shared infrastructure (the bus). Each service keeps its own in
its `metrics.py`. Labels never carry secrets or free text."""

from __future__ import annotations

from prometheus_client import Counter

BUS_MESSAGES = Counter(
    "pic_bus_messages_total",
    "Messages handled by a consumer, by outcome",
    ["consumer", "outcome"],
)
# acked: done; retried: handed back to be tried later; failed: the handler crashed (it is
# delivered again); dead_lettered: given up, on the consumer's dead-letter subject.
BUS_OUTCOMES = ("acked", "retried", "failed", "dead_lettered")
BUS_REDELIVERIES = Counter(
    "pic_bus_redeliveries_total",
    "Messages a consumer got more than once (its handler failed, or a consumer died mid-way)",
    ["consumer"],
)


def bus_series(consumer: str) -> None:
    """Every series of a consumer from its start, at 0: a dashboard shows "none" as 0, and
    a rate over a counter that appears only at its first event misses that event."""
    for outcome in BUS_OUTCOMES:
        BUS_MESSAGES.labels(consumer, outcome)
    BUS_REDELIVERIES.labels(consumer)
