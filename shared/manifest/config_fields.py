"""Single-value rules of config_schema fields (the admin settings form)."""

from __future__ import annotations

import re

from shared.manifest import const
from shared.manifest.issues import show


def config_key(value: str) -> str | None:
    if not const.CONFIG_KEY_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid config key: "
            "use lowercase letters, digits and _, starting with a letter"
        )
    return None


def config_default(value: object) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    return f"a default must be text, a whole number or true/false, got {show(value)}"


def config_pattern(value: str) -> str | None:
    if len(value) > const.MAX_PATTERN_LENGTH:
        return f"must be at most {const.MAX_PATTERN_LENGTH} characters"
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"is not a valid regular expression ({exc})"
    return None


def config_max_length(value: int) -> str | None:
    if not 1 <= value <= const.MAX_VALUE_LENGTH:
        return f"must be from 1 to {const.MAX_VALUE_LENGTH}, got {show(value)}"
    return None
