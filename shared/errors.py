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
    """A real part (Docker, NATS, Caddy, a registry, DNS, the Compose binary) does not answer,
    is missing or did not start."""

    key = "part_unavailable"


class RenderError(PicStoreError):
    """A compose template could not be rendered: its variables, its structure, Compose or the
    policy refused it, or a cell setting is bad."""

    key = "render_error"


class ConfigError(PicStoreError):
    """The cell config file (or a service's settings from the environment) is unreadable or
    invalid."""

    key = "config_error"


class OperationError(PicStoreError):
    """An install, reconfigure or remove cannot go on (e.g. a reconfigure of a service not
    installed); the root of the operations' errors."""

    key = "operation_failed"
