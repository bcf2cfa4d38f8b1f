"""Validation options: the settings of a cell or store that the rules depend on."""

from __future__ import annotations

from dataclasses import dataclass

from shared.manifest.const import DEFAULT_ALLOWED_REGISTRY, DEFAULT_PIC_ROOT


@dataclass(frozen=True)
class ValidationOptions:
    """`allowed_registry`: the image namespace store images must live in (a local test
    registry is e.g. `127.0.0.1:5000/roof/`). `pic_root`: PIC's project folder on the host,
    which volume mounts must not overlap."""

    allowed_registry: str = DEFAULT_ALLOWED_REGISTRY
    pic_root: str = DEFAULT_PIC_ROOT


DEFAULT_OPTIONS = ValidationOptions()
