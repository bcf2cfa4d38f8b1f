"""The store's index.json: which services the store lists, at which version.

    {"services": [{"id": "notes", "name": "Notes", "version": "1.0.0",
                   "subdomain": "notes", "extra_subdomains": [], "path": "services/notes"}]}

An entry may also list `hostnames` (the manifest's names at the service's own IP).

`path` (relative to the index's folder) defaults to `services/<id>`. Other members are
allowed (a store UI may carry icons or descriptions) and ignored here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from shared.manifest import Issue
from shared.manifest import fields as manifest_fields
from shared.manifest.issues import show
from shared.manifest.model import ServiceId, ShortText
from shared.manifest.paths import relative_path_problem
from shared.manifest.translate import issues_from_error

INDEX_FILE = "index.json"


def _check(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def _version(value: str) -> str:
    _check(manifest_fields.version(value))
    return value


def _path(value: str) -> str:
    problem = relative_path_problem(value)
    _check(f"path {show(value)} {problem}" if problem else None)
    return value


class IndexEntry(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    id: ServiceId
    name: ShortText
    version: Annotated[str, AfterValidator(_version)]
    subdomain: str | None = None
    extra_subdomains: list[str] = Field(default_factory=list)
    hostnames: list[str] = Field(default_factory=list)  # names at the service's own IP
    path: Annotated[str, AfterValidator(_path)] | None = None

    @property
    def folder(self) -> str:
        return self.path or f"services/{self.id}"

    @property
    def subdomains(self) -> list[str]:
        return [s for s in (self.subdomain, *self.extra_subdomains) if s]

    @property
    def names(self) -> list[str]:
        """Every label the entry lists in the cell domain: subdomains, then hostnames."""
        return [*self.subdomains, *(h for h in self.hostnames if h)]


class StoreIndex(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    services: list[IndexEntry]

    def entry(self, service_id: str) -> IndexEntry | None:
        return next((e for e in self.services if e.id == service_id), None)


def parse_index(data: object, file: str = INDEX_FILE) -> tuple[StoreIndex | None, list[Issue]]:
    if not isinstance(data, dict):
        return None, [Issue("$", "the index must be a JSON object with a services list", file)]
    try:
        index = StoreIndex.model_validate(data, strict=True)
    except ValidationError as exc:
        return None, [Issue(i.path, i.message, file) for i in issues_from_error(exc)]
    issues = []
    seen: set[str] = set()
    for position, entry in enumerate(index.services):
        if entry.id in seen:
            issues.append(
                Issue(f"$.services[{position}].id", f"{show(entry.id)} is listed twice", file)
            )
        seen.add(entry.id)
    return index, issues


def other_manifest_path(store_dir: Path, entry: IndexEntry) -> Path:
    return store_dir / entry.folder / "manifest.json"
