"""What the gateway's API areas use: passed in, never looked up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from services.gateway.journal import Journal
from services.gateway.settings import GatewaySettings
from shared.bus import Bus
from shared.client import StoreClient
from shared.config import CellConfig
from shared.config_source import cell_config


@dataclass
class Deps:
    bus: Bus  # the gateway's identity on the bus (role "gateway")
    client: StoreClient  # the same client as the command line
    data_dir: Path  # PIC_DATA_DIR
    settings: GatewaySettings = field(default_factory=GatewaySettings)
    # Set when the gateway stops: open event streams end, so the server can finish.
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # The recent events, for event streams that resume (fed by journal.follow_events).
    journal: Journal = field(default_factory=Journal)

    def cell_config(self) -> CellConfig:
        """The current cell config, read fresh (an admin's change needs no restart)."""
        return cell_config(self.data_dir)
