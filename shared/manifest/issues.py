"""What validation reports: an Issue (a JSON path and a sentence), and the error carrying them.

Paths use one form everywhere: `$` is the manifest, `.field` an object member, `[0]` a list
item, `["odd key"]` a member whose name is not a plain identifier. Example: `$.volumes[0].mount`.
Issues about other files name the file (`install.sh`, `index.json`, `compose-template.yml`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.errors import PicStoreError

PathPart = str | int

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SHOWN = 60


@dataclass(frozen=True)
class Issue:
    """One broken rule: where (`path`, optionally in `file`) and what (`message`)."""

    path: str
    message: str
    file: str | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.path}" if self.file else self.path

    def to_dict(self) -> dict[str, str]:
        out = {"path": self.path, "message": self.message}
        if self.file:
            out["file"] = self.file
        return out

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ManifestInvalidError(PicStoreError):
    """A manifest broke one or more rules; `issues` holds every one of them."""

    key = "manifest_invalid"

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        lines = "\n".join(str(issue) for issue in self.issues)
        super().__init__(f"the manifest has {count} problem{'s' if count != 1 else ''}:\n{lines}")


def json_path(*parts: PathPart, root: str = "$") -> str:
    """`json_path("volumes", 0, "mount")` -> `$.volumes[0].mount`."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(_truncate(part))}]"
    return out


def show(value: object) -> str:
    """A short, safe rendering of a JSON value for a message (never huge, never raises)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(10**18) < value < 10**18 else "a very large number"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "NaN" if math.isnan(value) else "Infinity"
        return repr(value) if abs(value) < 1e18 else "a very large number"
    if isinstance(value, str):
        return json.dumps(_truncate(value))
    return describe(value)


def describe(value: object) -> str:
    """The JSON type of a value, as a store author would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def unique(issues: Iterable[Issue]) -> list[Issue]:
    """Drop repeated issues, keeping the first-seen order."""
    seen: set[Issue] = set()
    out: list[Issue] = []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            out.append(issue)
    return out


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"
