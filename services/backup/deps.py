"""What the backup service's work uses: passed in, never looked up."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from services.backup.layout import Backups
from services.backup.settings import BackupSettings
from shared.backup_config import BackupConfig
from shared.bus import Bus, TypedBucket
from shared.config_source import cell_config
from shared.docker import DockerEngine
from shared.installed import ServiceRecord


@dataclass
class Deps:
    bus: Bus
    engine: DockerEngine
    services: TypedBucket[ServiceRecord]
    settings: BackupSettings
    backups: Backups

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def config(self) -> BackupConfig:
        """The cell config's backup block, read fresh (an admin's change needs no restart)."""
        return cell_config(self.settings.data_dir).backup


# One service's lock (the manager's): a backup and a restore of one service never overlap.
Guard = Callable[[str], AbstractAsyncContextManager[None]]
