"""Keep the embedded stack alive: a part or a service that exits is started again.

Each restart waits longer than the one before (1 s, 2 s, 4 s ... at most 30 s), so a part
that cannot start does not spin; a process that then runs for a minute is forgiven. Every
restart is printed and logged. The installer's own recovery finishes what a dead installer
left half done (its command is delivered again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from app.embedded.process import ManagedProcess
from shared.errors import PartUnavailableError

log = structlog.get_logger("supervisor")

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
FORGIVEN_AFTER = 60.0
POLL = 0.2


@dataclass
class _Watch:
    delay: float = FIRST_DELAY
    restart_at: float | None = None
    started: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(
        self, processes: Mapping[str, ManagedProcess], say: Callable[[str], None] = print
    ) -> None:
        self.processes = processes
        self.say = say
        self.restarts: dict[str, int] = {}
        self._watches = {name: _Watch() for name in processes}
        self._stop = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def halt(self) -> None:
        """No more restarts; what it started keeps running until the stack stops it."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self._release.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(POLL):
            for name, process in self.processes.items():
                self._check(name, process, self._watches[name])
        # A process dies with the thread that started it (PR_SET_PDEATHSIG): this thread
        # lives until `stop`, so what it restarted gets the stack's orderly stop.
        self._release.wait()

    def _check(self, name: str, process: ManagedProcess, watch: _Watch) -> None:
        now = time.monotonic()
        if process.running():
            if now - watch.started > FORGIVEN_AFTER:
                watch.delay = FIRST_DELAY
            return
        if watch.restart_at is None:
            watch.restart_at = now + watch.delay
            self.say(
                f"pic-store up: {name} exited (code {process.exit_code}); starting it "
                f"again in {watch.delay:.0f} s"
            )
            log.warning("part_exited", part=name, code=process.exit_code, delay=watch.delay)
            return
        if now < watch.restart_at or self._stop.is_set():
            return
        watch.restart_at = None
        watch.delay = min(watch.delay * 2, MAX_DELAY)
        try:
            process.restart()
        except PartUnavailableError as exc:
            self.say(f"pic-store up: {name} did not start again: {exc.message[:200]}")
            log.warning("part_restart_failed", part=name, error=exc.message[:200])
            return
        watch.started = time.monotonic()
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.say(f"pic-store up: {name} is running again (pid {process.pid})")
        log.info("part_restarted", part=name, pid=process.pid)
