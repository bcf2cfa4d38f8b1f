"""The subdomains a service claims, from a manifest as stored (it may be old or broken)."""

from __future__ import annotations

from collections.abc import Mapping


def subdomains_of(manifest: Mapping[str, object]) -> list[str]:
    """The primary subdomain, then the extra ones; none without `has_subdomain: true`.
    Values of the wrong type are left out (the router and pre-flight read stored records)."""
    if manifest.get("has_subdomain") is not True:
        return []
    extras = manifest.get("extra_subdomains")
    names = [manifest.get("subdomain"), *(extras if isinstance(extras, list) else [])]
    return [name for name in names if isinstance(name, str) and name]
