"""The ids that travel in messages and become folder names, file names or subject tokens,
each with ONE grammar declared here (issue #19, finding 9).

Every message model field that carries such an id uses these types, so a message whose id
could name another place (`..`, `/`, an empty id, a NUL, an overlong one) is refused when the
message is decoded: the bus dead-letters it and no handler ever sees it. Each grammar starts
with a letter or digit and has no `/`, no `.` run and no control character, so an id is always
one plain path component and one subject token.

    ServiceId    the manifest's id rule: 1-31 lowercase letters, digits and dashes
    OperationId  1-80 letters, digits, `_` and `-` (`op-<hex>`, `op-<hex>-backup`)
    BackupId     1-121 lowercase letters, digits, `_` and `-` (`20261203t120000000000z`)
    PeerName     1-32 lowercase letters, digits, `_` and `-` (also a username everywhere)
    EventId      1-64 letters, digits, `_` and `-` (the de-duplication id; correlation ids)
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, ValidationError, WithJsonSchema

from shared.manifest.const import ID_RE

# The manifest's own id rule: a service id is the same word everywhere.
SERVICE_ID_PATTERN: Final = f"^{ID_RE.pattern}$"
# Also a key of the operations bucket: NATS refuses ':' in a key.
OPERATION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$"
BACKUP_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,120}$"
PEER_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,31}$"
EVENT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

_RULES: Final = {
    "service id": (
        SERVICE_ID_PATTERN,
        "1-31 lowercase letters, digits and dashes, starting with a letter or digit",
    ),
    "operation id": (
        OPERATION_ID_PATTERN,
        "1-80 letters, digits, '_' and '-', starting with a letter or digit",
    ),
    "backup id": (
        BACKUP_ID_PATTERN,
        "1-121 lowercase letters, digits, '_' and '-', starting with a letter or digit",
    ),
    "peer name": (
        PEER_NAME_PATTERN,
        "1-32 lowercase letters, digits, '_' and '-', starting with a letter or digit",
    ),
    "event id": (
        EVENT_ID_PATTERN,
        "1-64 letters, digits, '_' and '-', starting with a letter or digit",
    ),
}
_SHOWN = 40


class IdError(ValueError):
    """An id breaks its grammar; the message names the id, the value and the rule."""


def _shown(value: str) -> str:
    text = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
    return repr(text)


def id_problem(kind: str, value: object) -> str | None:
    """Why `value` is not a valid id of `kind` (a sentence), or None."""
    pattern, rule = _RULES[kind]
    if not isinstance(value, str):
        return f"the {kind} must be a string, got {type(value).__name__}"
    if re.fullmatch(pattern, value) is None:
        return (
            f"{_shown(value)} is not a valid {kind}: use {rule} "
            "(it becomes a folder name or a subject token)"
        )
    return None


def check_id(kind: str, value: str) -> str:
    """`value` when it is a valid id of `kind`; IdError naming what is wrong otherwise."""
    problem = id_problem(kind, value)
    if problem is not None:
        raise IdError(problem)
    return value


def _validator(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        problem = id_problem(kind, value)
        if problem is not None:
            raise IdError(problem)
        return value

    return AfterValidator(check)


def _schema(kind: str) -> WithJsonSchema:
    """The grammar in the JSON schema too (docs/asyncapi.yaml shows it to other clients)."""
    pattern, rule = _RULES[kind]
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": f"{kind}: {rule}"})


def id_problems(exc: ValidationError) -> list[str]:
    """The id problems of a refused message, when ids are all that is wrong with it (else
    []): they name the id and the rule, and never hold another value of the message."""
    problems = [error.get("ctx", {}).get("error") for error in exc.errors()]
    if problems and all(isinstance(p, IdError) for p in problems):
        return [str(p) for p in problems]
    return []


ServiceId = Annotated[str, _validator("service id"), _schema("service id")]
OperationId = Annotated[str, _validator("operation id"), _schema("operation id")]
BackupId = Annotated[str, _validator("backup id"), _schema("backup id")]
PeerName = Annotated[str, _validator("peer name"), _schema("peer name")]
EventId = Annotated[str, _validator("event id"), _schema("event id")]

__all__ = [
    "BACKUP_ID_PATTERN",
    "EVENT_ID_PATTERN",
    "OPERATION_ID_PATTERN",
    "PEER_NAME_PATTERN",
    "SERVICE_ID_PATTERN",
    "BackupId",
    "EventId",
    "IdError",
    "OperationId",
    "PeerName",
    "ServiceId",
    "check_id",
    "id_problem",
    "id_problems",
]
