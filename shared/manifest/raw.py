"""Defensive readers of raw manifest data, shared by the cross-field rules: each returns
only well-formed values and skips anything else (its field-level issue is reported)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shared.manifest import fields
from shared.manifest.issues import Issue, json_path, show
from shared.manifest.paths import normalise_absolute

Raw = dict[str, object]


def valid(value: object, check: Callable[[str], str | None]) -> str | None:
    return value if isinstance(value, str) and check(value) is None else None


def backends(raw: Raw) -> Iterator[tuple[str, str]]:
    """(path, backend) for every well-formed backend."""
    if valid(raw.get("backend"), fields.backend):
        yield json_path("backend"), str(raw["backend"])
    extras = raw.get("extra_backends")
    for index, value in enumerate(extras if isinstance(extras, list) else []):
        if valid(value, fields.backend):
            yield json_path("extra_backends", index), str(value)


def mount_key(mount: str) -> str:
    return normalise_absolute(mount) if mount.startswith("/") else mount


def no_repeats(
    items: object,
    where: str,
    attribute: str,
    what: str,
    item_path: bool = False,
    same: Callable[[str], str] = str,
) -> Iterator[Issue]:
    if not isinstance(items, list):
        return
    seen: dict[str, int] = {}
    base: list[str | int] = list(where.split("."))
    for index, item in enumerate(items):
        value = item.get(attribute) if isinstance(item, dict) else None
        if isinstance(value, str):
            parts = (*base, index) if item_path else (*base, index, attribute)
            if same(value) in seen:
                yield Issue(
                    json_path(*parts),
                    f"{what} {show(value)} is used twice "
                    f"(also at {json_path(*base, seen[same(value)])})",
                )
            seen.setdefault(same(value), index)
