"""The DNS names a service claims, from a manifest as stored (it may be old or broken).

Two kinds share the cell domain's labels: subdomains (HTTP, through Caddy, at the cell's
address) and hostnames (`hostnames`: the service's own IP, no Caddy route). A label is one
service's, whichever kind, so collisions are checked over both.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.manifest.issues import Issue, json_path, show
from shared.manifest.variables import SERVICE_IP

SUBDOMAIN = "subdomain"
HOSTNAME = "hostname"


def subdomains_of(manifest: Mapping[str, object]) -> list[str]:
    """The primary subdomain, then the extra ones; none without `has_subdomain: true`.
    Values of the wrong type are left out (the router and pre-flight read stored records)."""
    if manifest.get("has_subdomain") is not True:
        return []
    extras = manifest.get("extra_subdomains")
    names = [manifest.get("subdomain"), *(extras if isinstance(extras, list) else [])]
    return [name for name in names if isinstance(name, str) and name]


def hostnames_of(manifest: Mapping[str, object]) -> list[str]:
    """The `hostnames` labels (pointing at the service's own IP); wrong types left out."""
    names = manifest.get("hostnames")
    return [n for n in names if isinstance(n, str) and n] if isinstance(names, list) else []


def names_of(manifest: Mapping[str, object]) -> dict[str, str]:
    """Every label the service claims in the cell domain -> "subdomain" or "hostname"
    (subdomains first; a label given twice keeps its first kind)."""
    names = dict.fromkeys(subdomains_of(manifest), SUBDOMAIN)
    for name in hostnames_of(manifest):
        names.setdefault(name, HOSTNAME)
    return names


def hostname_notes(manifest: Mapping[str, object]) -> list[Issue]:
    """Warnings, not refusals: `hostnames` with no iptables rule opening a port of
    ${SERVICE_IP} resolve, but nothing lets a peer connect to them."""
    names = hostnames_of(manifest)
    rules = manifest.get("iptables_rules")
    own = "${" + SERVICE_IP + "}"
    opened = isinstance(rules, list) and any(
        isinstance(rule, dict) and rule.get("dest_ip") == own for rule in rules
    )
    if not names or opened:
        return []
    listed = ", ".join(show(name) for name in names)
    return [
        Issue(
            json_path("hostnames"),
            f"{listed} will resolve to the service's IP, but no iptables_rules entry opens a "
            f"port of {own}: peers cannot connect to it; add a rule for each port they use",
        )
    ]
