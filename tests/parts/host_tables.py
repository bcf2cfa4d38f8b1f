"""What a test cell's netpolicy left in this machine's own tables, and its removal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.netpolicy.manager import NetpolicyManager
from services.netpolicy.names import chain_name, priorities
from services.netpolicy.runner import Runner
from shared.config import CellConfig
from shared.manifest import ValidationOptions


def host(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def leftovers(cell: str, sid: str | None = None) -> list[str]:
    """Whatever of the cell (or of service `sid`) is still in the host's tables."""
    found = [
        line
        for line in host("iptables-save").splitlines()
        if chain_name(cell) in line or (sid is not None and f"pic-store:{sid}" in line)
    ]
    ours = tuple(f"{p}:" for p in priorities(cell))
    found += [line for line in host("ip", "rule", "show").splitlines() if line.startswith(ours)]
    return found


async def clear_cell(cell: str, data_dir: Path) -> None:
    """Take the cell's chains, jumps, rules and tables off this machine (its netpolicy
    stopped first: the rules of a running one would come back)."""
    config = CellConfig.load(data_dir)
    manager = NetpolicyManager(Runner(), cell, lambda: config, lambda c: ValidationOptions())
    await manager.clear()
