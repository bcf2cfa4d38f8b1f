"""Reach the real Docker engine the tests run against (started by .ci/run or `make engine`)."""

from __future__ import annotations

import subprocess


def docker(*args: str, check: bool = True, input_bytes: bytes | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, input=input_bytes, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace").strip()


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
