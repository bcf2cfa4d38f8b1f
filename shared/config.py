"""The cell config (`<data dir>/config/api/cell_config.json`), read fresh for each operation
so that an admin's change is picked up without restarting any service."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.backup_config import BackupConfig
from shared.errors import ConfigError
from shared.netconfig import NetPolicyConfig

CELL_CONFIG_RELATIVE = Path("config/api/cell_config.json")
DEFAULT_IMAGE_PREFIX = "git.pic.ngo/roof/"


class VerificationMode(StrEnum):
    enforce = "enforce"
    warn = "warn"
    off = "off"


class ImageVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: VerificationMode = VerificationMode.enforce
    public_keys: list[str] = Field(
        default_factory=list, description="PEM public keys, or paths to cosign.pub files"
    )
    rekor_public_key: str | None = None
    insecure_registries: list[str] = Field(default_factory=list)


class UpstreamSetting(StrEnum):
    """How Caddy reaches a service: by container name (Caddy on the Docker network) or by the
    service's allocated IP (Caddy on the host, the embedded default)."""

    ip = "ip"
    container = "container"


class TlsSetting(StrEnum):
    internal = "internal"  # a private domain: Caddy's own CA
    acme = "acme"  # a public domain: certificates from an ACME CA
    off = "off"  # plain HTTP (a loopback test or development listener)


class RouterDns(BaseModel):
    """Where the router keeps the services' DNS records. `hostsdir`: hosts files that dnsmasq
    (`--hostsdir`) reloads by itself; `rfc2136`: TSIG-signed dynamic updates to BIND & co."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["hostsdir", "rfc2136"] = "hostsdir"
    hostsdir: str = Field(
        default="dns/hosts.d", description="hostsdir: the directory, absolute or in the data dir"
    )
    server: str | None = Field(
        default=None,
        description="IP address the DNS server answers on "
        "(rfc2136: required; hostsdir: optional, queried to check)",
    )
    port: int = Field(default=53, ge=1, le=65535)
    zone: str | None = Field(default=None, description="rfc2136: the zone (default: the domain)")
    tsig_key_name: str = "pic-store"
    tsig_algorithm: str = "hmac-sha256"
    tsig_secret: str = Field(default="", repr=False, description="base64, as tsig-keygen prints")
    tsig_key_file: str | None = Field(
        default=None, description="a key file as tsig-keygen writes it"
    )


class RouterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caddy_admin_url: str = Field(
        default="http://127.0.0.1:2019",
        description="Caddy's admin API: unix:///path/to/admin.sock (a socket only the router's "
        "user can open: the safe choice), or http://host:port (any local process can reach it; "
        "see docs/router.md). The default is stock Caddy's own admin address",
    )
    server: str = Field(default="pic_store", pattern=r"^[a-z0-9_]{1,64}$")
    listen: list[str] = Field(default_factory=lambda: [":443"])
    upstream_mode: UpstreamSetting = UpstreamSetting.ip
    tls: TlsSetting = TlsSetting.internal
    acme_email: str | None = None
    acme_directory: str | None = None
    dns: RouterDns = Field(default_factory=RouterDns)


class CellConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cell_name: str = Field(default="cell", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    domain: str = "cell.local"
    cell_address: str = "127.0.0.1"
    allowed_image_prefix: str = DEFAULT_IMAGE_PREFIX
    allow_local_stores: bool = Field(
        default=False,
        description="Install from folders on this machine and file:// "
        "repositories; for development and tests",
    )
    image_verification: ImageVerification = Field(default_factory=ImageVerification)
    router: RouterConfig = Field(default_factory=RouterConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    netpolicy: NetPolicyConfig = Field(default_factory=NetPolicyConfig)

    @classmethod
    def load(cls, data_dir: Path) -> CellConfig:
        path = data_dir / CELL_CONFIG_RELATIVE
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not readable JSON: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            where = "; ".join(
                ".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors()[:5]
            )
            raise ConfigError(f"{path} is invalid: {where}") from exc

    def write(self, data_dir: Path) -> Path:
        """Atomically; 0600 from its first byte (it may hold a TSIG secret). A file already
        there keeps its group and its group's read (the roles' users read it so)."""
        path = data_dir / CELL_CONFIG_RELATIVE
        path.parent.mkdir(parents=True, exist_ok=True)
        mode, group = 0o600, -1
        with contextlib.suppress(FileNotFoundError):
            before = path.stat()
            mode, group = stat.S_IMODE(before.st_mode) & 0o640 | 0o600, before.st_gid
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            if group != -1 and group != os.getegid():
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), -1, group)
            os.fchmod(handle.fileno(), mode)
            handle.write(self.model_dump_json(indent=2))
        tmp.replace(path)
        return path
