"""Verifier settings, from the environment (PIC_*), with named defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from shared.service import ServiceSettings

DEFAULT_HTTP_PORT = 8471
CACHE_ENTRIES = 1024
CACHE_TTL = 3600.0
VERIFY_TIMEOUT = 45.0


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class VerifierSettings(ServiceSettings):
    name: str = "verifier"
    # A per-replica memo of successful checks (see cache.py); 0 entries turns it off.
    cache_entries: int = field(
        default_factory=lambda: int(os.environ.get("PIC_VERIFIER_CACHE_ENTRIES", CACHE_ENTRIES)))
    cache_ttl: float = field(default_factory=lambda: _float("PIC_VERIFIER_CACHE_TTL", CACHE_TTL))
    # One verification, all registry requests included; keep it under the installer's
    # PIC_STEP_TIMEOUT so that a slow registry gives a reason, not a step timeout.
    verify_timeout: float = field(
        default_factory=lambda: _float("PIC_VERIFIER_TIMEOUT", VERIFY_TIMEOUT))

    def __post_init__(self) -> None:
        if not os.environ.get("PIC_VERIFIER_HTTP_PORT") and not self.http_port:
            self.http_port = DEFAULT_HTTP_PORT
        super().__post_init__()
