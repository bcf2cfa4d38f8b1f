"""Verifier settings, from the environment (PIC_*), with named defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["verifier"]
CACHE_ENTRIES = 1024
CACHE_TTL = 3600.0
VERIFY_TIMEOUT = 45.0


@dataclass
class VerifierSettings(ServiceSettings):
    name: str = "verifier"
    # A per-replica memo of successful checks (see cache.py); 0 entries turns it off.
    cache_entries: int = from_env("PIC_VERIFIER_CACHE_ENTRIES", CACHE_ENTRIES, int)
    cache_ttl: float = from_env("PIC_VERIFIER_CACHE_TTL", CACHE_TTL, float)
    # One verification, all registry requests included; keep it under the installer's
    # PIC_STEP_TIMEOUT so that a slow registry gives a reason, not a step timeout.
    verify_timeout: float = from_env("PIC_VERIFIER_TIMEOUT", VERIFY_TIMEOUT, float)

    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT
