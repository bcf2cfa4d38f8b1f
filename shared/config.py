"""The cell config (`<data dir>/config/api/cell_config.json`), read fresh for each operation
so that an admin's change is picked up without restarting any service."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import ConfigError

CELL_CONFIG_RELATIVE = Path("config/api/cell_config.json")
DEFAULT_IMAGE_PREFIX = "git.pic.ngo/roof/"


class VerificationMode(StrEnum):
    enforce = "enforce"
    warn = "warn"
    off = "off"


class ImageVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: VerificationMode = VerificationMode.enforce
    public_keys: list[str] = Field(default_factory=list,
                                   description="PEM public keys, or paths to cosign.pub files")
    rekor_public_key: str | None = None
    insecure_registries: list[str] = Field(default_factory=list)


class CellConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cell_name: str = Field(default="cell", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    domain: str = "cell.local"
    cell_address: str = "127.0.0.1"
    allowed_image_prefix: str = DEFAULT_IMAGE_PREFIX
    image_verification: ImageVerification = Field(default_factory=ImageVerification)

    @classmethod
    def load(cls, data_dir: Path) -> CellConfig:
        path = data_dir / CELL_CONFIG_RELATIVE
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not readable JSON: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            where = "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"]
                              for e in exc.errors()[:5])
            raise ConfigError(f"{path} is invalid: {where}") from exc

    def write(self, data_dir: Path) -> Path:
        path = data_dir / CELL_CONFIG_RELATIVE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)
        return path
