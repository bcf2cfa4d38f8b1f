"""A child process with a readiness check and a clean stop, that never outlives its parent.

Every part and service is started through `setpriv --pdeathsig KILL`: the kernel kills it
when the thread that started it ends, however that ends (SIGKILL included), so a killed
`pic-store up` leaves no orphan behind. Each child is in a session (process group) of its
own, so a Ctrl-C in the terminal reaches `up` alone, which stops them in order. With a
`RunAs`, setpriv also switches to the role's user, groups and capabilities.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.embedded.run_as import RunAs
from shared.errors import PartUnavailableError

LOG_MODE = 0o640  # a part's log: its owner writes, the admin's group reads, nobody else


def find_binary(name: str) -> str:
    """Find a binary next to this interpreter (pip-installed parts) or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise PartUnavailableError(
            f"{name} is not installed (looked beside {sys.executable} and on PATH)"
        )
    return found


def launcher(run_as: RunAs | None) -> list[str]:
    """The setpriv prefix of every child: killed with its parent, as `run_as` when given."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PartUnavailableError("setpriv is not installed (Debian package: util-linux)")
    return [setpriv, "--pdeathsig", "KILL", *(run_as.setpriv_args() if run_as else []), "--"]


def stop_together(
    processes: list[ManagedProcess], within: float, say: Callable[[str], None]
) -> None:
    """SIGTERM to all at once; whoever still runs after `within` seconds is killed. Says what
    it waits for, so a slow stop is never a silent one."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + within
    waiting = [p for p in processes if p.running()]
    if waiting:
        names = ", ".join(p.name for p in waiting)
        say(f"pic-store up: waiting for {names} to stop (at most {within:.0f} s)")
    while waiting and time.monotonic() < deadline:
        time.sleep(0.1)
        waiting = [p for p in waiting if p.running()]
    for process in waiting:
        say(f"pic-store up: {process.name} did not stop within {within:.0f} s: killed")
        process.kill()
    for process in processes:
        process.close_log()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


@dataclass
class ManagedProcess:
    """One running part: its command, the port it answers on, and its log file."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] | None = None
    # The user (groups, capabilities) it runs as; None: the user running pic-store.
    run_as: RunAs | None = field(default=None, kw_only=True)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def start(self, timeout: float = 15.0) -> ManagedProcess:
        if self._answers(0):
            raise PartUnavailableError(
                f"{self.name}: {self.where} already answers (another pic-store up, or another "
                "program?)"
            )
        self.log_path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        # Created with its mode: never readable by others, not even for a moment.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
        self._log = os.fdopen(fd, "ab")
        self._proc = subprocess.Popen(
            [*launcher(self.run_as), *self.argv],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        if not self._answers(timeout) or self._proc.poll() is not None:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise PartUnavailableError(f"{self.name} did not start on {self.where}: {tail}")
        return self

    @property
    def where(self) -> str:
        """Where the part answers, as a message names it."""
        return f"port {self.port} on 127.0.0.1"

    def _answers(self, timeout: float) -> bool:
        """Whether the part answers, waiting up to `timeout` seconds."""
        return wait_for_port(self.port, timeout=timeout)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def restart(self, timeout: float = 30.0) -> ManagedProcess:
        """Start the same command again after it exited (the log is appended to)."""
        self.stop()
        self._proc = None
        return self.start(timeout)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would; used by tests of recovery."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: the process finishes what it holds and exits (see `stop`)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout)
        self.close_log()

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ManagedProcess:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
