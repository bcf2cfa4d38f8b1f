"""The exception tree of pic-store. Every error has a stable key and a readable message.

PicStoreError
├── PartUnavailableError      a real part (Docker, NATS, Caddy, registry, DNS) does not answer
├── ManifestInvalidError      a manifest broke rules; carries every issue with its JSON path
├── RenderError               a compose template could not be rendered
├── ConfigError               the cell config file is unreadable or invalid
└── OperationError            an install / reconfigure / remove step failed
"""

from __future__ import annotations


class PicStoreError(Exception):
    """Root of every error pic-store raises on purpose."""

    key = "pic_store_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PartUnavailableError(PicStoreError):
    key = "part_unavailable"


class RenderError(PicStoreError):
    key = "render_error"


class ConfigError(PicStoreError):
    key = "config_error"


class OperationError(PicStoreError):
    key = "operation_failed"
