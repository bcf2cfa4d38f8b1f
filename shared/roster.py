"""The services of a cell and the port each serves `/healthz` and `/metrics` on: the
installer's own, the gateway's (the one HTTP API a UI talks to), and every participant's as
its contract declares it."""

from __future__ import annotations

from typing import Final

from shared.contract.registry import contracts

INSTALLER_HTTP_PORT: Final = 8470
GATEWAY_HTTP_PORT: Final = 8476


def http_ports() -> dict[str, int]:
    return {
        "installer": INSTALLER_HTTP_PORT,
        "gateway": GATEWAY_HTTP_PORT,
        **{contract.owner: contract.port for contract in contracts()},
    }


HTTP_PORTS: Final = http_ports()
SERVICES: Final = tuple(HTTP_PORTS)
