"""The services of a cell and the port each serves `/healthz` and `/metrics` on: the
installer, then every owner of a saga step (shared/steps.py), in the order of that table."""

from __future__ import annotations

from typing import Final

from shared.steps import participants

SERVICES: Final = ("installer", *participants())
FIRST_HTTP_PORT: Final = 8470
HTTP_PORTS: Final = {name: FIRST_HTTP_PORT + index for index, name in enumerate(SERVICES)}
