"""Issue #19: the files of a cell that hold secrets, or what its services log, are private
from their first byte: created with their mode (whatever the umask), never loosened and
then tightened with a chmod another user could race."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.embedded import ManagedProcess, free_port, start_registry
from app.embedded.example import example_key
from app.embedded.stack import EmbeddedStack
from shared.config import CELL_CONFIG_RELATIVE, CellConfig


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0: a file made without a mode of its own would be world-readable."""
    before = os.umask(0)
    yield
    os.umask(before)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a file was created with, before any chmod could have fixed it."""
    monkeypatch.setattr(Path, "chmod", lambda self, mode, **kw: None)
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: None)


def test_the_cell_config_is_private_from_its_first_byte(
    tmp_path: Path, open_umask: None, no_chmod: None
) -> None:
    path = CellConfig(cell_name="modes").write(tmp_path)
    assert mode(path) == 0o600
    # The roles' group may read it (app/embedded/roles.py): a rewrite keeps that, no more.
    os.chown(path, -1, 4)
    fd = os.open(path, os.O_RDONLY)
    os.fchmod(fd, 0o644)
    os.close(fd)
    CellConfig(cell_name="again").write(tmp_path)
    assert (mode(path), path.stat().st_gid) == (0o640, 4)
    assert not (tmp_path / CELL_CONFIG_RELATIVE).with_suffix(".tmp").exists()


def test_the_example_signing_key_is_private_from_its_first_byte(
    tmp_path: Path, open_umask: None, no_chmod: None
) -> None:
    example_key(EmbeddedStack(tmp_path / "data"))
    keys = tmp_path / "data" / "keys"
    assert {p.name: mode(p) for p in keys.iterdir() if p.name != "cosign.pub"} == {
        "cosign.key": 0o600,
        "cosign.password": 0o600,
    }


def test_a_part_s_log_is_not_world_readable(tmp_path: Path, open_umask: None) -> None:
    port = free_port()
    serve = (
        "import socket, time; s = socket.socket(); "
        f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    )
    log = tmp_path / "logs" / "part.log"
    with ManagedProcess("part", [sys.executable, "-c", serve], port, log):
        assert mode(log) == 0o640
        assert not mode(log.parent) & 0o007


def test_the_embedded_registry_listens_on_loopback_only(tmp_path: Path) -> None:
    registry = start_registry(tmp_path / "registry")
    try:
        listening = {
            (local.split(":")[0], int(local.split(":")[1], 16))
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if (fields := line.split())[3] == "0A"  # LISTEN
            for local in [fields[1]]
        }
        ours = {address for address, port in listening if port == registry.port}
        assert ours == {"0100007F"}  # 127.0.0.1, little-endian
        assert not any(
            line.split()[3] == "0A" and line.split()[1].endswith(f":{registry.port:04X}")
            for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
        )
    finally:
        registry.stop()
