"""The `backup` block of the cell config: where the key is, how many backups to keep, the
schedule. Paths are absolute or relative to the data dir."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class BackupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_file: str = Field(
        default="secrets/backup-key.txt",
        description="The age identity (AGE-SECRET-KEY-1...) every backup's key is sealed to; "
        "made on first use when missing. Keep a copy off the machine: without it (or the "
        "passphrase) no backup can be opened",
    )
    passphrase_file: str | None = Field(
        default=None,
        description="A file holding a passphrase; when set, each backup's key is sealed with "
        "the passphrase (age scrypt) instead of the key file",
    )
    keep: int = Field(default=7, ge=1, le=1000, description="Good backups kept per service")
    every_hours: float = Field(
        default=0.0, ge=0.0, le=24.0 * 366, description="Back up every N hours (0: no schedule)"
    )
    verify_scheduled: bool = Field(
        default=False, description="Verify each scheduled backup in a sandbox"
    )
    compress_level: int = Field(default=6, ge=1, le=9, description="gzip level of the archives")
    stream_timeout_seconds: float = Field(
        default=4 * 3600.0,
        ge=1.0,
        le=7 * 86400.0,
        description="Time each command and stream of a backup may take (a before/after "
        "command, one volume's archive); past it that service's backup fails, others go on",
    )
    stream_max_bytes: int = Field(
        default=256 * 2**30,
        ge=2**20,
        description="Size cap of each stream of a backup (one volume's archive, a command's "
        "output); past it that service's backup fails",
    )

    def path(self, data_dir: Path, value: str) -> Path:
        candidate = Path(value)
        return candidate if candidate.is_absolute() else data_dir / candidate
