"""The accounts service's Prometheus metrics. Labels are fixed words and service ids: never a
peer's credential."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ACCOUNTS = Gauge("pic_accounts_accounts", "Accounts the service created, by service", ["service"])
FAILING = Gauge(
    "pic_accounts_service_failing",
    "1 while a service's accounts cannot be brought in line (the reason is in the log)",
    ["service"],
)
PEERS = Gauge("pic_accounts_peers", "Current VPN peers")
CALLS = Counter(
    "pic_accounts_manager_calls_total",
    "Calls to account managers, by manager, verb and result",
    ["manager", "verb", "result"],
)
CORRECTIONS = Counter(
    "pic_accounts_reconcile_corrections_total",
    "What reconciliations corrected, by kind (created, reapplied, deleted)",
    ["kind"],
)
RECONCILIATIONS = Counter(
    "pic_accounts_reconciliations_total", "Reconciliations, by result", ["result"]
)
