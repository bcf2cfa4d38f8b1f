"""The router's Prometheus metrics. Labels are fixed words: never a host, a key or a secret."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROUTES = Gauge("pic_router_routes", "Caddy routes the installed services need")
DNS_RECORDS = Gauge("pic_router_dns_records", "DNS records the installed services need")
DISAGREEMENTS = Gauge(
    "pic_router_disagreements",
    "Routes and records Caddy or DNS did not hold as needed, at the last check",
)
ADMIN_SECONDS = Histogram(
    "pic_router_caddy_admin_seconds",
    "Duration of each Caddy admin API request",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RECONCILIATIONS = Counter(
    "pic_router_reconciliations_total",
    "Reconciliations, by what started them and their result",
    ["trigger", "result"],
)
CORRECTIONS = Counter(
    "pic_router_corrections_total", "What reconciliations corrected, by kind", ["kind"]
)


def observe_admin(method: str, seconds: float) -> None:
    ADMIN_SECONDS.labels(method).observe(seconds)
