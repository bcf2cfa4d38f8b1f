"""Single-value rules of config_schema fields (the admin settings form)."""

from __future__ import annotations

import re2

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
        compile_pattern(value)
    except UnicodeEncodeError:
        return "must be Unicode text (it contains a lone surrogate)"
    except re2.error as exc:
        return (
            f"is not a valid RE2 regular expression ({_re2_reason(exc)}): patterns must use "
            "RE2 syntax (no backreferences or lookaround) because RE2 matches in linear time, "
            "so no pattern can stall the installer"
        )
    return None


def compile_pattern(pattern: str) -> re2._Regexp[str]:
    """The pattern compiled by RE2, which matches in time linear in the value: Python's
    backtracking re can take years on a store pattern such as (a+)+$ and would stall the
    installer. Raises re2.error, or UnicodeEncodeError for a lone surrogate."""
    # A str pattern makes RE2 read it, and the values, as UTF-8: one character each, not bytes.
    return re2.compile(pattern, _OPTIONS)


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether the whole value matches; the pattern passed config_pattern, the value is
    Unicode text (no lone surrogates)."""
    return compile_pattern(pattern).fullmatch(value) is not None


def _re2_reason(exc: re2.error) -> str:
    reason = exc.args[0] if exc.args else ""
    if isinstance(reason, bytes):  # RE2 reports its error text as UTF-8 bytes
        reason = reason.decode("utf-8", "replace")
    text = str(reason) or "unknown error"
    # \Z is Python's spelling of RE2's \z, the likeliest slip when porting a pattern.
    if text.endswith(r"\Z"):
        text += r"; RE2 writes the end of the text as \z"
    elif text.startswith("pattern too large"):  # valid syntax over RE2's memory budget
        text += "; use smaller repetition counts"
    return text


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported as an issue, not on stderr
    return options


_OPTIONS = _options()


def config_max_length(value: int) -> str | None:
    if not 1 <= value <= const.MAX_VALUE_LENGTH:
        return f"must be from 1 to {const.MAX_VALUE_LENGTH}, got {show(value)}"
    return None
