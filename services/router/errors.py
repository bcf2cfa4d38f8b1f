"""The router's errors, a branch of the pic-store exception tree.

    PicStoreError
    ├── RouterError                 Caddy refused a change; names the route id and Caddy's answer
    │   ├── CaddyUnavailableError   the admin API did not answer (worth a retry)
    │   ├── InvalidRouteError       a host, upstream or id is unsafe (also a ValueError)
    │   └── HostTakenError          a subdomain is already routed for another service
    └── DnsError                    the DNS server refused an update; names the rcode
        └── DnsUnavailableError     the DNS server did not answer (worth a retry)

Third-party errors (httpx, dnspython, OSError) are translated here at the boundary with
`raise ... from exc`. No message ever carries a TSIG secret.
"""

from __future__ import annotations

from shared.errors import PicStoreError


class RouterError(PicStoreError):
    """Caddy refused a change; names the route id and Caddy's answer."""

    key = "router_error"

    def __init__(
        self, message: str, *, route_id: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.route_id = route_id
        self.status = status


class CaddyUnavailableError(RouterError):
    """Caddy's admin API did not answer (worth a retry)."""

    key = "caddy_unavailable"


class InvalidRouteError(RouterError, ValueError):
    """Refused before anything reaches Caddy or DNS: the input could inject or misroute."""

    key = "invalid_route"


class HostTakenError(RouterError):
    """Refused at install time; the message names the service (or route) holding the host."""

    key = "host_taken"


class DnsError(PicStoreError):
    """The DNS server refused an update; names the rcode."""

    key = "dns_error"

    def __init__(self, message: str, *, rcode: str | None = None) -> None:
        super().__init__(message)
        self.rcode = rcode


class DnsUnavailableError(DnsError):
    """The DNS server did not answer (worth a retry)."""

    key = "dns_unavailable"
