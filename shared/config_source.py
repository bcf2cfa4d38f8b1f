"""The cell config as the services read it: the file again when it changed, and when a change
is bad, the last good config, with the problem reported once (file and key), not at every
operation. A service whose config is bad at its start refuses to start (`serve` reads it
first), and `pic-store config check` says the same before anyone restarts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from prometheus_client import Gauge

from shared.config import CELL_CONFIG_RELATIVE, CellConfig
from shared.errors import ConfigError

log = structlog.get_logger("config")

INVALID = Gauge(
    "pic_cell_config_invalid",
    "1 while the cell config file holds a change this service refused (it keeps the last "
    "good config), else 0",
)

Stamp = tuple[int, int, int] | None  # (inode, size, mtime in ns) of the file; None: no file


@dataclass
class ConfigSource:
    data_dir: Path
    _stamp: Stamp = None
    _good: CellConfig | None = None
    _refused: Stamp = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> Path:
        return self.data_dir / CELL_CONFIG_RELATIVE

    def _stamp_now(self) -> Stamp:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def get(self) -> CellConfig:
        """The current config; ConfigError only when no good one was ever read."""
        with self._lock:
            stamp = self._stamp_now()
            if self._good is not None and stamp == self._stamp:
                return self._good
            if self._good is not None and stamp == self._refused:
                return self._good
            try:
                config = CellConfig.load(self.data_dir)
            except ConfigError as exc:
                if self._good is None:
                    raise
                self._refused = stamp
                INVALID.set(1)
                log.error("cell_config_refused", problem=exc.message, kept="the last good config")
                return self._good
            self._stamp, self._good, self._refused = stamp, config, None
            INVALID.set(0)
            return config


_SOURCES: dict[Path, ConfigSource] = {}
_SOURCES_LOCK = threading.Lock()


def cell_config(data_dir: Path) -> CellConfig:
    """The cell config of `data_dir` as this process last read it good (see ConfigSource)."""
    with _SOURCES_LOCK:
        source = _SOURCES.setdefault(data_dir, ConfigSource(data_dir))
    return source.get()
