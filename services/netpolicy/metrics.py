"""The netpolicy's Prometheus metrics. Labels are fixed words: never an address or a name."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RULES = Gauge("pic_netpolicy_rules", "Firewall ACCEPT rules the installed services need")
REDIRECTS = Gauge("pic_netpolicy_redirects", "nat redirect rules of services using a proxy")
EGRESS_SERVICES = Gauge(
    "pic_netpolicy_egress_services", "Services leaving through a connection instance"
)
RULES_APPLIED = Counter(
    "pic_netpolicy_rules_applied_total", "Rules and routes added or removed, by table", ["table"]
)
CORRECTIONS = Counter(
    "pic_netpolicy_corrections_total", "What reconciliations corrected, by kind", ["kind"]
)
RECONCILIATIONS = Counter(
    "pic_netpolicy_reconciliations_total",
    "Reconciliations, by what started them and their result",
    ["trigger", "result"],
)
