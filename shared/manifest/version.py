"""Service versions: semantic versions (https://semver.org), compared for upgrades."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SEMVER = re.compile(
    r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
MAX_VERSION_LENGTH = 64


@dataclass(frozen=True, order=True)
class ServiceVersion:
    """A parsed version; `<`, `>` and `==` follow semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    # A release sorts after every pre-release of the same numbers: (1,) > (0, ...).
    _rank: tuple[tuple[int, int | str], ...] = field(repr=False)
    prerelease: str = field(default="", compare=False)
    build: str = field(default="", compare=False)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text


def parse_version(text: str) -> ServiceVersion:
    """Parse `1.2.3`, `1.2.3-rc.1`, `1.2.3+build.5`; raise ValueError with a readable reason."""
    match = _SEMVER.fullmatch(text) if len(text) <= MAX_VERSION_LENGTH else None
    if match is None:
        raise ValueError(
            "must be a semantic version MAJOR.MINOR.PATCH such as 1.0.0 "
            "(optionally -prerelease and +build)"
        )
    major, minor, patch, pre, build = match.groups()
    for part in (pre or "").split("."):
        if len(part) > 1 and part.isdigit() and part.startswith("0"):
            raise ValueError("pre-release numbers must not have leading zeros")
    return ServiceVersion(int(major), int(minor), int(patch), _rank(pre), pre or "", build or "")


def _rank(prerelease: str | None) -> tuple[tuple[int, int | str], ...]:
    if not prerelease:
        return ((2, 0),)
    # Numeric identifiers sort before alphanumeric ones, and numerically among themselves.
    ranked: list[tuple[int, int | str]] = [(0, 0)]
    for part in prerelease.split("."):
        ranked.append((0, int(part)) if part.isdigit() else (1, part))
    return tuple(ranked)
