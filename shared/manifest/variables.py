"""The template variables of manifests and compose templates, with Compose's `$` grammar.

`${NAME}` is a variable, `$$` a literal dollar. Anything else after a `$` (`$NAME`,
`${NAME:-x}`, a lone `$`) is refused: Compose would interpolate it from the host's
environment when the service starts, which is never what a store author means.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from shared.manifest.issues import show

DOMAIN: Final = "PIC_DOMAIN"
CELL_NAME: Final = "PIC_CELL_NAME"
DATA_DIR: Final = "PIC_DATA_DIR"
SERVICE_ID: Final = "PIC_SERVICE_ID"
SERVICE_IP: Final = "SERVICE_IP"
CONFIG_PREFIX: Final = "PIC_CFG_"
SECRET_PREFIX: Final = "PIC_SECRET_"  # noqa: S105 (a variable prefix, not a password)
FIXED_VARIABLES: Final = (DOMAIN, CELL_NAME, DATA_DIR, SERVICE_ID, SERVICE_IP)
# The certificate for the service's `hostnames`, its key, the cell's root (shared/cell_ca.py).
TLS_CERT: Final = "PIC_TLS_CERT"
TLS_KEY: Final = "PIC_TLS_KEY"
CA_CERT: Final = "PIC_CA_CERT"
TLS_VARIABLES: Final = (TLS_CERT, TLS_KEY, CA_CERT)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONFIG_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
SECRET_NAME_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9_]{0,63}")


@dataclass(frozen=True)
class Variable:
    """A `${name}` reference inside a template string."""

    name: str

    @property
    def config_key(self) -> str | None:
        """`PIC_CFG_MAX_SIZE` -> `max_size`; None for other variables."""
        if self.name.startswith(CONFIG_PREFIX):
            return self.name[len(CONFIG_PREFIX) :].lower()
        return None

    @property
    def secret_name(self) -> str | None:
        if self.name.startswith(SECRET_PREFIX):
            return self.name[len(SECRET_PREFIX) :]
        return None


Piece = str | Variable


class TemplateSyntaxError(ValueError):
    """A string breaks the `$` grammar; the message never quotes more than the variable."""


def parse_template(text: str) -> list[Piece]:
    """Split a string into literal text (with `$$` already turned into `$`) and variables."""
    pieces: list[Piece] = []
    literal: list[str] = []
    i = 0
    while (j := text.find("$", i)) >= 0:
        literal.append(text[i:j])
        after = text[j + 1 : j + 2]
        if after == "$":
            literal.append("$")
            i = j + 2
        elif after == "{":
            end = text.find("}", j + 2)
            if end < 0:
                raise TemplateSyntaxError("has ${ without a closing }")
            inner = text[j + 2 : end]
            if not _NAME.fullmatch(inner):
                raise TemplateSyntaxError(
                    f"has an unsupported variable ${{{_short(inner)}}}: only ${{NAME}} is "
                    "supported (no defaults or modifiers); write $$ for a literal dollar sign"
                )
            if "".join(literal):
                pieces.append("".join(literal))
            literal = []
            pieces.append(Variable(inner))
            i = end + 1
        else:
            name = _NAME.match(text, j + 1)
            if name:
                bare = _short(name.group())
                raise TemplateSyntaxError(
                    f"uses ${bare} without braces: write ${{{bare}}} for a PIC variable "
                    "or $$ for a literal dollar sign"
                )
            raise TemplateSyntaxError("has a lone $: write $$ for a literal dollar sign")
    literal.append(text[i:])
    tail = "".join(literal)
    if tail or not pieces:
        pieces.append(tail)
    return pieces


def variable_problem(name: str, config_keys: Collection[str] | None) -> str | None:
    """Why `${name}` is not a known variable, or None. `config_keys` None skips the
    config_schema lookup (for checks that run before the schema is known)."""
    shown = f"${{{_short(name)}}}"
    if name in FIXED_VARIABLES or name in TLS_VARIABLES:
        return None
    if name.startswith(CONFIG_PREFIX):
        key = name[len(CONFIG_PREFIX) :]
        if not _CONFIG_KEY.fullmatch(key):
            return (
                f"{shown} is not a valid config variable: "
                "write ${PIC_CFG_<KEY>} with the key in uppercase"
            )
        if config_keys is not None and key.lower() not in config_keys:
            return f"{shown} names no config_schema field (no field has the key {key.lower()})"
        return None
    if name.startswith(SECRET_PREFIX):
        if not SECRET_NAME_RE.fullmatch(name[len(SECRET_PREFIX) :]):
            return (
                f"{shown} is not a valid secret variable: "
                "secret names are uppercase letters, digits and _"
            )
        return None
    if name.startswith("PIC_"):
        return (
            f"{shown} is not a PIC variable (known: ${{PIC_DOMAIN}}, ${{PIC_CELL_NAME}}, "
            "${PIC_DATA_DIR}, ${PIC_SERVICE_ID}, ${PIC_CFG_<KEY>}, ${PIC_SECRET_<NAME>}, "
            "${SERVICE_IP}, ${PIC_TLS_CERT}, ${PIC_TLS_KEY}, ${PIC_CA_CERT})"
        )
    return (
        f"{shown} is not a PIC variable: Compose would read it from the host's environment; "
        "write $$ for a literal dollar sign"
    )


def template_problems(text: str, config_keys: Collection[str] | None) -> list[str]:
    """Every problem of one template string: its syntax, then each unknown variable."""
    try:
        pieces = parse_template(text)
    except TemplateSyntaxError as exc:
        return [str(exc)]
    problems = []
    for piece in pieces:
        if isinstance(piece, Variable):
            problem = variable_problem(piece.name, config_keys)
            if problem and problem not in problems:
                problems.append(problem)
    return problems


def _short(text: str) -> str:
    return text if len(text) <= 60 else show(text)[1:-1]
