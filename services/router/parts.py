"""The parts the router talks to (Caddy's admin API, the DNS backend), built from the cell
config. The config is read fresh for each operation; a part is rebuilt only when its
settings change, so an admin's edit takes effect without a restart."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from services.router.caddy import CaddyAdmin
from services.router.dns import DnsBackend, HostsDirBackend, Rfc2136Backend, TsigKey
from services.router.tls import TlsPolicy, tls_policy
from shared.cell_ca import cell_root_files
from shared.config import CellConfig, RouterConfig, RouterDns, TlsSetting
from shared.config_source import cell_config
from shared.errors import ConfigError

log = structlog.get_logger("router")

_KEY_NAME = re.compile(r'key\s+"([^"]+)"')
_KEY_ALGORITHM = re.compile(r"algorithm\s+([A-Za-z0-9.-]+)\s*;")
_KEY_SECRET = re.compile(r'secret\s+"([A-Za-z0-9+/=]+)"')


@dataclass(frozen=True)
class Parts:
    config: CellConfig
    caddy: CaddyAdmin
    dns: DnsBackend
    dns_label: str  # what to call the DNS backend in reports: never holds a secret
    tls: TlsPolicy | None  # None: plain HTTP, no TLS policy of ours in Caddy
    dns_check: tuple[str, int] | None  # where a hosts-dir server answers, to ask it


class PartsCache:
    def __init__(
        self,
        data_dir: Path,
        observe: Callable[[str, float], None] | None = None,
        caddy_admin: str | None = None,
    ) -> None:
        """`caddy_admin` (PIC_CADDY_ADMIN) overrides the config's `router.caddy_admin_url`."""
        self.data_dir = data_dir
        self._admin_override = caddy_admin
        self._observe = observe
        self._caddy: tuple[object, CaddyAdmin] | None = None
        self._dns: tuple[object, DnsBackend, str] | None = None

    async def current(self) -> Parts:
        config = cell_config(self.data_dir)
        router = config.router
        if self._admin_override:
            router = router.model_copy(update={"caddy_admin_url": self._admin_override})
        caddy_key = (router.caddy_admin_url, router.server, tuple(router.listen), router.tls)
        if self._caddy is None or self._caddy[0] != caddy_key:
            if self._caddy is not None:
                await self._caddy[1].aclose()
            self._caddy = (caddy_key, self._caddy_client(router))
        dns_key = (router.dns.model_dump_json(), config.domain)
        if self._dns is None or self._dns[0] != dns_key:
            backend, label = self._dns_backend(router.dns, config.domain)
            self._dns = (dns_key, backend, label)
        tls = (
            None
            if router.tls is TlsSetting.off
            else tls_policy(
                config.domain,
                public=router.tls is TlsSetting.acme,
                acme_email=router.acme_email,
                acme_directory=router.acme_directory,
                root=cell_root_files(self.data_dir),
            )
        )
        check = None
        if router.dns.backend == "hostsdir" and router.dns.server:
            check = (router.dns.server, router.dns.port)
        return Parts(config, self._caddy[1], self._dns[1], self._dns[2], tls, check)

    async def aclose(self) -> None:
        if self._caddy is not None:
            await self._caddy[1].aclose()

    def _caddy_client(self, router: RouterConfig) -> CaddyAdmin:
        caddy = CaddyAdmin(
            router.caddy_admin_url,
            listen=router.listen,
            server=router.server,
            automatic_https=router.tls is not TlsSetting.off,
            observe=self._observe,
        )
        if not caddy.admin_url.startswith("unix://"):
            # Any local process can rewrite the cell's proxy through a TCP admin port: say so,
            # once per change of the setting.
            log.warning(
                "caddy_admin_on_tcp",
                caddy_admin_url=caddy.admin_url,
                advice="serve Caddy's admin API on a Unix socket (docs/router.md)",
            )
        return caddy

    def _dns_backend(self, dns: RouterDns, domain: str) -> tuple[DnsBackend, str]:
        if dns.backend == "hostsdir":
            directory = Path(dns.hostsdir)
            if not directory.is_absolute():
                directory = self.data_dir / directory
            return HostsDirBackend(directory), f"hostsdir {directory}"
        if not dns.server:
            raise ConfigError("router.dns.server is required for the rfc2136 backend")
        key = tsig_key(dns)
        zone = dns.zone or domain
        backend = Rfc2136Backend(dns.server, zone, key, port=dns.port)
        return backend, f"rfc2136 {dns.server}:{dns.port} zone {zone} key {key.name}"


def tsig_key(dns: RouterDns) -> TsigKey:
    """The TSIG key from the config, or from a key file as tsig-keygen writes it."""
    if not dns.tsig_key_file:
        if not dns.tsig_secret:
            raise ConfigError("router.dns needs tsig_secret or tsig_key_file for rfc2136")
        return TsigKey(dns.tsig_key_name, dns.tsig_secret, dns.tsig_algorithm)
    try:
        text = Path(dns.tsig_key_file).read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the TSIG key file {dns.tsig_key_file}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    name, secret = _KEY_NAME.search(text), _KEY_SECRET.search(text)
    if name is None or secret is None:
        # Never quote the file: it holds the secret.
        raise ConfigError(f"{dns.tsig_key_file} is not a key file as tsig-keygen writes it")
    algorithm = _KEY_ALGORITHM.search(text)
    return TsigKey(
        name.group(1), secret.group(1), algorithm.group(1) if algorithm else dns.tsig_algorithm
    )
