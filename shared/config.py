"""The cell config (`<data dir>/config/api/cell_config.json`), read fresh for each operation
so that an admin's change is picked up without restarting any service."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.backup_config import BackupConfig
from shared.errors import ConfigError
from shared.netconfig import NetPolicyConfig
from shared.store.source import StoreError

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


STORE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
NO_DEFAULT_STORE_HINT = (
    'add the store to "stores" (a name and its git URL) and name it in "default_store" in '
    "config/api/cell_config.json (docs/operator.md), or name the store of this install"
)


class StoreSource(BaseModel):
    """A store the cell installs from: a name (what the gateway and the CLI call it) and where
    it is (a git repository URL; a folder or `file://` only with `allow_local_stores`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=STORE_NAME_PATTERN,
        description="1-32 lowercase letters, digits, '_' and '-', starting with a letter or digit",
    )
    url: str = Field(  # repr=False: a URL may carry a token
        min_length=1,
        max_length=4096,
        repr=False,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="the store's git repository URL (https://, ssh://, git://), or with "
        "allow_local_stores a folder or file:// repository on this machine",
    )


def config_problems(exc: ValidationError) -> list[str]:
    """Each problem as `key.path: what is wrong` (never the value: it may be a secret)."""
    out = []
    for error in exc.errors():
        where = ".".join(map(str, error["loc"])) or "(the whole file)"
        if error["type"] == "extra_forbidden":
            out.append(f"{where}: unknown key (a typo? see docs/operator.md)")
        else:
            out.append(f"{where}: {error['msg']}")
    return out


class CellConfig(BaseModel):
    # An unknown key is a typo the admin must hear of, at the top level as in each section.
    model_config = ConfigDict(extra="forbid")

    cell_name: str = Field(default="cell", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    domain: str = "cell.local"
    cell_address: str = "127.0.0.1"
    allowed_image_prefix: str = DEFAULT_IMAGE_PREFIX
    allow_local_stores: bool = Field(
        default=False,
        description="Install from folders on this machine and file:// "
        "repositories; for development and tests",
    )
    stores: list[StoreSource] = Field(
        default_factory=list, description="the stores the cell installs from, by name"
    )
    default_store: str | None = Field(
        default=None,
        description="the name (in `stores`) of the store an install that names none uses",
    )
    image_verification: ImageVerification = Field(default_factory=ImageVerification)
    router: RouterConfig = Field(default_factory=RouterConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    netpolicy: NetPolicyConfig = Field(default_factory=NetPolicyConfig)
    ui: dict[str, Any] = Field(
        default_factory=dict,
        description="the web UI's own settings: kept as they are, never read by pic-store",
    )

    @model_validator(mode="after")
    def _stores(self) -> CellConfig:
        names = [store.name for store in self.stores]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"stores: the name {twice[0]!r} is used twice")
        if self.default_store is not None and self.default_store not in names:
            known = ", ".join(names) or "none"
            raise ValueError(
                f"default_store: {self.default_store!r} is not the name of a store in "
                f"`stores` (names: {known})"
            )
        return self

    def store_named(self, name: str) -> StoreSource | None:
        return next((store for store in self.stores if store.name == name), None)

    def store_location(self, store: str | None) -> str:
        """Where an install's store is: the location of the store of that name in `stores`,
        else `store` itself (a folder or a git URL, as before stores had names), and with
        no store named, the default store's. StoreError when there is none."""
        if store is None:
            if self.default_store is None:
                raise StoreError(
                    f"no store named and the cell has no default store: {NO_DEFAULT_STORE_HINT}"
                )
            store = self.default_store
        named = self.store_named(store)
        return named.url if named is not None else store

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
            where = "; ".join(config_problems(exc)[:5])
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
