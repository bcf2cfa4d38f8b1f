"""The TLS automation policy of the cell's hosts. No I/O.

Caddy obtains and renews the certificates itself, for the hosts its routes match; the router
only says which issuer to use. A private domain (one the internet cannot resolve, like
`cell.test` or `home.arpa`) gets Caddy's `internal` issuer, backed by a CA of our own whose root
is never installed into the host's trust store; a public domain gets ACME. When the cell has
its own CA (shared/cell_ca.py, which also signs the certificates of services' `hostnames`),
that CA's root is Caddy's: one root for a peer to trust, whatever it connects to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.router.routes import check_domain

TLS_POLICY_ID = "pic-store-tls"
CA_ID = "pic_store"


@dataclass(frozen=True)
class TlsPolicy:
    """An automation policy (`apps.tls.automation.policies[]`) and, for `internal`, its CA."""

    policy: dict[str, Any]
    certificate_authority: dict[str, Any] | None = None


def tls_policy(
    domain: str,
    *,
    public: bool,
    acme_email: str | None = None,
    acme_directory: str | None = None,
    root: tuple[Path, Path] | None = None,
) -> TlsPolicy:
    """`root`: the cell CA's certificate and key files, which Caddy reads (it makes its
    intermediate from them); without, Caddy makes a root of its own."""
    check_domain(domain)
    policy: dict[str, Any] = {"@id": TLS_POLICY_ID, "subjects": [domain, f"*.{domain}"]}
    if not public:
        policy["issuers"] = [{"module": "internal", "ca": CA_ID}]
        ca: dict[str, Any] = {"name": f"pic-store {domain}", "install_trust": False}
        if root is not None:
            certificate, key = root
            ca["root"] = {
                "certificate": str(certificate),
                "private_key": str(key),
                "format": "pem_file",
            }
        return TlsPolicy(policy, ca)
    issuer: dict[str, Any] = {"module": "acme"}
    if acme_email:
        issuer["email"] = acme_email
    if acme_directory:
        issuer["ca"] = acme_directory
    policy["issuers"] = [issuer]
    return TlsPolicy(policy)
