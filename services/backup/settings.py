"""Backup service settings, from the environment (PIC_*), with named defaults. What to keep,
the key and the schedule are in the cell config (`backup` in cell_config.json), read fresh
for each command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from shared.manifest import DEFAULT_PIC_ROOT
from shared.roster import HTTP_PORTS
from shared.service import ServiceSettings, from_env

DEFAULT_HTTP_PORT = HTTP_PORTS["backup"]


@dataclass
class BackupSettings(ServiceSettings):
    name: str = "backup"
    pic_root: Path = from_env("PIC_ROOT", Path(DEFAULT_PIC_ROOT), Path)
    # waits: the installer's answers, a restored service's health, a whole install
    handover_timeout: float = from_env("PIC_BACKUP_HANDOVER_TIMEOUT", 20.0, float)
    health_timeout: float = from_env("PIC_HEALTH_TIMEOUT", 120.0, float)
    install_timeout: float = from_env("PIC_BACKUP_INSTALL_TIMEOUT", 600.0, float)
    # the commands' ack wait: a long backup says "in progress" meanwhile
    ack_wait: float = from_env("PIC_ACK_WAIT", 30.0, float)
    schedule_check: float = from_env("PIC_BACKUP_SCHEDULE_CHECK", 60.0, float)
    default_http_port: ClassVar[int] = DEFAULT_HTTP_PORT

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def scratch_dir(self) -> Path:
        """Plain (decrypted) files while a restore or verify runs; emptied at start."""
        return self.data_dir / "backups-scratch"
