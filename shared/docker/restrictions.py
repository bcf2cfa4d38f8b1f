"""What the engine restricts a container to, as recorded from its inspect data, and the
container settings that put the same restrictions on a sandbox of its image.

Only the security-relevant part is recorded: the user, the capabilities added and dropped, a
read-only root, the security options, the pids and memory limits and the CPU quota. Each
value is checked against what the compose policy lets a template render (a capability beyond
Docker's default set, a security option other than no-new-privileges, a negative limit are
refused), so a recorded value can only take powers away. A sandbox always gets
no-new-privileges and loses MKNOD and NET_RAW unless the recorded `cap_add` names them,
as the renderer does for every container (shared/compose/hardening.py)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.compose.keys import DOCKER_DEFAULT_CAPABILITIES, DROPPED_BY_DEFAULT, SECURITY_OPTIONS

USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$")
CAPABILITY = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
NO_NEW_PRIVILEGES = "no-new-privileges"


def capability(value: str) -> str:
    """A capability as Docker compares it: `cap_net_raw`, `CAP_NET_RAW`, `NET_RAW` are one."""
    return value.upper().removeprefix("CAP_")


def _dropped(value: str) -> str:
    name = capability(value)
    if not CAPABILITY.fullmatch(name):
        raise ValueError(f"{value[:40]!r} is not a capability")
    return name


def _added(value: str) -> str:
    name = _dropped(value)
    if name not in DOCKER_DEFAULT_CAPABILITIES:
        raise ValueError(f"{name} is beyond Docker's default capabilities: never rendered")
    return name


def _user(value: str) -> str:
    if value and not USER.fullmatch(value):
        raise ValueError(f"{value[:60]!r} is not a user[:group]")
    return value


def _option(value: str) -> str:
    if value not in SECURITY_OPTIONS:
        raise ValueError(f"{value[:60]!r} is not a security option a template may set")
    return value


class Restrictions(BaseModel):
    """A container's restrictions; the defaults are those of a container that set none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: Annotated[str, AfterValidator(_user)] = ""
    cap_add: tuple[Annotated[str, AfterValidator(_added)], ...] = ()
    cap_drop: tuple[Annotated[str, AfterValidator(_dropped)], ...] = ()
    read_only: bool = False
    security_opt: tuple[Annotated[str, AfterValidator(_option)], ...] = ()
    pids_limit: int = Field(default=0, ge=0, description="0: no limit")
    memory: int = Field(default=0, ge=0, description="bytes; 0: no limit")
    nano_cpus: int = Field(default=0, ge=0, description="0: no limit")

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> Restrictions:
        """From `docker inspect` of a container (ValueError: a value no template renders)."""
        config = data.get("Config") or {}
        host = data.get("HostConfig") or {}
        pids = host.get("PidsLimit") or 0
        return cls(
            user=config.get("User") or "",
            cap_add=tuple(host.get("CapAdd") or ()),
            cap_drop=tuple(host.get("CapDrop") or ()),
            read_only=bool(host.get("ReadonlyRootfs")),
            security_opt=tuple(host.get("SecurityOpt") or ()),
            pids_limit=0 if pids == -1 else pids,  # -1: unlimited, as 0
            memory=host.get("Memory") or 0,
            nano_cpus=host.get("NanoCpus") or 0,
        )

    def container_config(self) -> dict[str, Any]:
        """The part of a container's create request that applies these restrictions, and
        always no-new-privileges and MKNOD and NET_RAW dropped unless `cap_add` names them."""
        added = list(dict.fromkeys(self.cap_add))
        dropped = list(dict.fromkeys(self.cap_drop))
        if "ALL" not in dropped:
            dropped += [cap for cap in DROPPED_BY_DEFAULT if cap not in {*added, *dropped}]
        host: dict[str, Any] = {"CapDrop": dropped, "SecurityOpt": [NO_NEW_PRIVILEGES]}
        if added:
            host["CapAdd"] = added
        if self.read_only:
            host["ReadonlyRootfs"] = True
        if self.pids_limit:
            host["PidsLimit"] = self.pids_limit
        if self.memory:
            host["Memory"] = self.memory
        if self.nano_cpus:
            host["NanoCpus"] = self.nano_cpus
        config: dict[str, Any] = {"HostConfig": host}
        if self.user:
            config["User"] = self.user
        return config
