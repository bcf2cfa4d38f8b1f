"""What a store format's reader hands the converter, and what the converter hands back.

A reader (runtipi.py, umbrel.py) knows its store's files and variables; the converter
(convert.py) knows PIC's manifest and policy. Between them: an App, the store's compose
document as parsed, and a map of the store's variables to PIC's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NoteKind = Literal["translated", "decide", "refused"]


@dataclass(frozen=True)
class Note:
    """One line of the import report: what was translated, what a person must decide, or
    what was refused (host access, with the policy's reason)."""

    kind: NoteKind
    where: str  # e.g. `services.db.volumes[0]` or `config.json form_fields[1]`
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass
class FormField:
    """A field of the store's install form, already in PIC's terms."""

    key: str  # the config key (lowercase)
    variable: str  # the store's variable name the compose file uses
    type: Literal["string", "int", "bool", "enum", "secret"]
    label: str
    description: str | None = None
    default: str | int | bool | None = None
    required: bool = False
    options: list[str] | None = None
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    def schema(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": self.key, "type": self.type, "label": self.label}
        for name in ("description", "default", "options", "min", "max", "max_length", "pattern"):
            value = getattr(self, name)
            if value is not None:
                entry[name] = value
        if self.required:
            entry["required"] = True
        return entry


@dataclass
class App:
    """An app of another store, read but not yet translated."""

    format: str
    id: str
    name: str
    description: str
    version: str
    author: str
    compose: dict[str, Any]
    # The service key of the web UI and the container port it listens on (None: no web UI).
    main: str | None = None
    web_port: int | None = None
    # The store's variables: name -> PIC text (`${PIC_DOMAIN}`, `${PIC_CFG_X}`, a literal).
    variables: dict[str, str] = field(default_factory=dict)
    # Variables the store fills in with generated secrets: name -> PIC secret name.
    secrets: dict[str, str] = field(default_factory=dict)
    form: list[FormField] = field(default_factory=list)
    # The store's variable for the app's data folder (binds below it move to PIC's).
    data_dir_variables: tuple[str, ...] = ()
    # Hostnames the store gives containers, to rewrite to the service key: name -> key.
    hostnames: dict[str, str] = field(default_factory=dict)
    # Service keys that are the store's own glue (dropped), with why.
    glue: dict[str, str] = field(default_factory=dict)
    # Ports of sidecars the store routes as HTTP: service key -> container port.
    http_sidecars: dict[str, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
