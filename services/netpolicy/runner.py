"""Runs iptables and ip as argv lists (never through a shell), in the host's own network
namespace or, for tests and confined set-ups, in a named one (`ip netns exec NAME`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.netpolicy.errors import CommandFailedError

TIMEOUT = 20.0


class Runner:
    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._prefix = ["ip", "netns", "exec", netns] if netns else []

    async def run(self, argv: list[str], stdin: str | None = None, check: bool = True) -> str:
        """The command's output; CommandFailedError (naming it and its answer) when it fails."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._prefix,
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise CommandFailedError(f"{argv[0]} could not be started: {exc.strerror}") from exc
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), TIMEOUT
            )
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise CommandFailedError(
                f"{' '.join(argv[:3])} did not finish in {TIMEOUT:.0f} s"
            ) from exc
        if check and proc.returncode != 0:
            answer = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            raise CommandFailedError(f"{' '.join(argv[:4])} failed: {answer[:500]}")
        return out.decode(errors="replace")

    async def json(self, argv: list[str], check: bool = True) -> list[dict[str, Any]]:
        """`ip -j ...` output as a list of objects; a routing table never used is empty
        (`ip` then fails and prints half a list: with check=False that reads as empty)."""
        text = (await self.run(argv, check=check)).strip()
        try:
            data = json.loads(text) if text else []
        except ValueError:
            return []
        return data if isinstance(data, list) else []
