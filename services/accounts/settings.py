"""Accounts settings, from the environment (PIC_*), with named defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["accounts"]
RECONCILE_PERIOD = 60.0  # every account compared with what each container holds
CALL_TIMEOUT = 5.0  # one call to a container's account API
START_WINDOW = 30.0  # how long a step retries a container that is still starting


@dataclass
class AccountsSettings(ServiceSettings):
    name: str = "accounts"
    reconcile_period: float = from_env("PIC_ACCOUNTS_RECONCILE_PERIOD", RECONCILE_PERIOD, float)
    call_timeout: float = from_env("PIC_ACCOUNTS_CALL_TIMEOUT", CALL_TIMEOUT, float)
    start_window: float = from_env("PIC_ACCOUNTS_START_WINDOW", START_WINDOW, float)

    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT

    @property
    def key_file(self) -> Path:
        """The key the credentials are encrypted with in the buckets (root only)."""
        return self.data_dir / "accounts" / "credentials.key"

    @property
    def identity_file(self) -> Path:
        """The age identity the installer seals each service's account-API secret to."""
        return self.data_dir / "accounts" / "handover.key"
