"""Read an app of another store, translate it, write the PIC service folder, check it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from app.importers import runtipi, umbrel
from app.importers.common import ImportError_
from app.importers.convert import Result, convert
from app.importers.model import App
from app.importers.report import REPORT_FILE, report_text
from shared.compose import TEMPLATE_FILE, check_template_file
from shared.manifest import MANIFEST_FILE, Issue, ValidationOptions, check_manifest

FORMATS: dict[str, Callable[[Path], App]] = {"runtipi": runtipi.read, "umbrel": umbrel.read}


@dataclass
class Imported:
    service_id: str
    folder: Path
    result: Result
    issues: list[Issue] = field(default_factory=list)  # what validate says of the folder
    report: str = ""

    @property
    def status(self) -> str:
        """`refused` (asks for host access), `invalid` (validate refuses what was written),
        `decide` (valid, with decisions left), or `valid`."""
        if self.result.refused:
            return "refused"
        if self.issues:
            return "invalid"
        return "decide" if self.result.decisions else "valid"


def import_service(
    kind: str, source: Path, out: Path, options: ValidationOptions, force: bool = False
) -> Imported:
    """Translate the app at `source` into the folder `out`; ImportError_ names what is wrong
    with the input (the format, the source, or an `out` that holds other files)."""
    if kind not in FORMATS:
        raise ImportError_(f"unknown format {kind!r}: use one of {', '.join(sorted(FORMATS))}")
    if not source.is_dir():
        raise ImportError_(f"{source} is not a folder (the app's folder in the {kind} store)")
    if out.exists() and not out.is_dir():
        raise ImportError_(f"{out} is a file: OUT must be a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ImportError_(f"{out} is not empty: choose a new folder, or pass --force")
    app = FORMATS[kind](source)
    result = convert(app, options.allowed_registry)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).write_text(json.dumps(result.manifest, indent=2) + "\n")
    header = (
        f"# Compose template of {result.manifest['name']}, imported from {kind} by "
        f"`pic-store import`. {REPORT_FILE} says what was translated and what to decide.\n"
    )
    (out / TEMPLATE_FILE).write_text(
        header + yaml.safe_dump(result.template, sort_keys=False, default_flow_style=False)
    )
    imported = Imported(str(result.manifest["id"]), out, result)
    manifest, issues = check_manifest(result.manifest, options)
    if manifest is not None:
        issues = check_template_file(out / TEMPLATE_FILE, manifest, options)
    imported.issues = issues
    imported.report = report_text(kind, source, imported)
    (out / REPORT_FILE).write_text(imported.report)
    return imported
