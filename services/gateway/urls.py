"""Where a browser opens a service: its subdomains under the cell's domain, through the
cell's Caddy, with the scheme and port Caddy listens on. No I/O."""

from __future__ import annotations

from collections.abc import Mapping

from shared.config import CellConfig, TlsSetting
from shared.manifest import subdomains_of

DEFAULT_PORTS = {"http": "80", "https": "443"}


def service_urls(manifest: Mapping[str, object], config: CellConfig) -> list[str]:
    """`http(s)://<subdomain>.<domain>[:port]/` for each subdomain of the manifest."""
    scheme = "http" if config.router.tls is TlsSetting.off else "https"
    listen = config.router.listen[0] if config.router.listen else ""
    port = listen.rpartition(":")[2]
    suffix = "" if port in ("", DEFAULT_PORTS[scheme]) else f":{port}"
    return [f"{scheme}://{name}.{config.domain}{suffix}/" for name in subdomains_of(manifest)]
