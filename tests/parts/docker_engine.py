"""Reach the real Docker engine the tests run against (started by .ci/run or `make engine`)."""

from __future__ import annotations

import subprocess


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, check=False)
    if check and done.returncode != 0:
        err = done.stderr.decode(errors="replace")
        raise RuntimeError(f"docker {' '.join(args)} failed: {err}")
    return done.stdout.decode(errors="replace").strip()


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
