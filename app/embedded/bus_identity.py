"""The identities of a cell's bus and the nats-server that knows them.

Everything secret lives in `<data dir>/secrets/` (0700): the nkey seed of every role of every
cell (`nats/<cell>/<role>.nk`), the JetStream encryption key (`jetstream.key`) and the server
configuration that holds it (`nats-server.json`), all 0600.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.bus.auth import (
    cipher_key,
    ensure_identities,
    seed_path,
    server_config,
    write_server_config,
)
from shared.events.permissions import server_users
from shared.events.roles import ROLES


@dataclass
class BusAuthority:
    secrets_dir: Path
    cells: dict[str, dict[str, str]] = field(default_factory=dict)
    # Users outside the roles (the test suite's own, for tests of the bus layer itself).
    extra_users: list[dict[str, Any]] = field(default_factory=list)

    _server: tuple[int, Path] = field(default=(0, Path()), init=False, repr=False)

    def __post_init__(self) -> None:
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.chmod(0o700)

    @property
    def config_path(self) -> Path:
        return self.secrets_dir / "nats-server.json"

    def add_cell(self, cell: str) -> None:
        self.cells[cell] = ensure_identities(self.secrets_dir / "nats", cell, ROLES)

    def seed(self, cell: str, role: str) -> Path:
        return seed_path(self.secrets_dir / "nats", cell, role)

    def write_config(self, port: int, store_dir: Path) -> Path:
        self._server = (port, store_dir)
        config = server_config(
            port=port,
            store_dir=store_dir,
            users=[*server_users(self.cells), *self.extra_users],
            cipher_key=cipher_key(self.secrets_dir / "jetstream.key"),
            server_name=f"pic-store-{port}",
        )
        write_server_config(self.config_path, config)
        return self.config_path

    def reload(self, pid: int | None) -> None:
        """Write the configuration again (new cells, new identities) and have the running
        nats-server read it: it does on SIGHUP."""
        port, store_dir = self._server
        self.write_config(port, store_dir)
        if pid is not None:
            os.kill(pid, signal.SIGHUP)
