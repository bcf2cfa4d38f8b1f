"""How one pic-store service is started, written once: `pic-store up` and the test harness
both start every service through `service_process`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from app.embedded.process import ManagedProcess
from app.embedded.run_as import RunAs


def service_process(
    name: str,
    port: int,
    log_path: Path,
    env: Mapping[str, str],
    seed_of: Callable[[str], Path],
    *,
    process_name: str | None = None,
    run_as: RunAs | None = None,
) -> ManagedProcess:
    """`python -m services.<name>` on `port`, with the bus identity of its role; `env` is the
    cell's wiring."""
    return ManagedProcess(
        process_name or name,
        [sys.executable, "-m", f"services.{name}"],
        port,
        log_path,
        env={
            **env,
            f"PIC_{name.upper()}_HTTP_PORT": str(port),
            "PIC_NATS_SEED": str(seed_of(name)),
        },
        run_as=run_as,
    )
