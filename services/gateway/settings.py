"""Gateway settings, from the environment (PIC_*), with named defaults.

PIC_DATA_DIR (the cell config is read from it), PIC_NATS_URL, PIC_CELL, PIC_NATS_SEED (the
gateway's identity on the bus), PIC_API_TOKEN_FILE (the bearer token: always wanted, loopback
too), PIC_HTTP_HOST and PIC_GATEWAY_HTTP_PORT: shared/service.py reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.roster import HTTP_PORTS
from shared.service import GuardedSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["gateway"]
LOG_TIMEOUT = 20.0  # the installer's answer to a request for a service's logs
JOURNAL_SIZE = 2000  # recent events kept per channel, for event streams that resume


@dataclass
class GatewaySettings(GuardedSettings):
    name: str = "gateway"
    log_timeout: float = from_env("PIC_GATEWAY_LOG_TIMEOUT", LOG_TIMEOUT, float)
    journal_size: int = from_env("PIC_GATEWAY_JOURNAL_SIZE", JOURNAL_SIZE, int)

    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT
