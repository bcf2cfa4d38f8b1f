"""DNS records of store services: one small Protocol and two backends.

`HostsDirBackend` writes hosts files that dnsmasq (`--hostsdir`) reloads by itself;
`Rfc2136Backend` sends TSIG-signed dynamic updates to BIND, Knot or PowerDNS.
"""

from services.router.dns.backend import DnsBackend, checked_records, records_for
from services.router.dns.hostsdir import HostsDirBackend
from services.router.dns.rfc2136 import Rfc2136Backend, TsigKey

__all__ = [
    "DnsBackend",
    "HostsDirBackend",
    "Rfc2136Backend",
    "TsigKey",
    "checked_records",
    "records_for",
]
