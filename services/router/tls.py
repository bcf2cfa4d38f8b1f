"""The TLS automation policy of the cell's hosts. No I/O.

Caddy obtains and renews the certificates itself, for the hosts its routes match; the router
only says which issuer to use. A private domain (one the internet cannot resolve, like
`cell.test` or `home.arpa`) gets Caddy's `internal` issuer, backed by a CA of our own whose root
is never installed into the host's trust store; a public domain gets ACME.
"""

from __future__ import annotations

from dataclasses import dataclass
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
) -> TlsPolicy:
    check_domain(domain)
    policy: dict[str, Any] = {"@id": TLS_POLICY_ID, "subjects": [domain, f"*.{domain}"]}
    if not public:
        policy["issuers"] = [{"module": "internal", "ca": CA_ID}]
        ca = {"name": f"pic-store {domain}", "install_trust": False}
        return TlsPolicy(policy, ca)
    issuer: dict[str, Any] = {"module": "acme"}
    if acme_email:
        issuer["email"] = acme_email
    if acme_directory:
        issuer["ca"] = acme_directory
    policy["issuers"] = [issuer]
    return TlsPolicy(policy)
