"""The import report: printed, and written beside the manifest as IMPORT.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.importers.service import Imported

REPORT_FILE = "IMPORT.md"

_STATUS = {
    "valid": "imported: the folder passes `pic-store validate`",
    "decide": "imported: the folder passes `pic-store validate`; a person must still decide "
    "what is listed under Decide",
    "invalid": "imported, but `pic-store validate` refuses the folder (see Validate)",
    "refused": "refused: the app asks for host access, which PIC never gives. The folder "
    "written leaves it out, so it is safe, but the app may not work without it",
}


def report_text(kind: str, source: Path, imported: Imported) -> str:
    result = imported.result
    lines = [
        f"# Import of {result.manifest['name']} ({kind}: {source.name})",
        "",
        f"Status: {_STATUS[imported.status]}.",
        "",
    ]
    sections = (
        ("Refused (host access)", result.refused),
        ("Decide", result.decisions),
        ("Translated", [n for n in result.notes if n.kind == "translated"]),
    )
    for title, notes in sections:
        if notes:
            lines += [f"## {title}", "", *(f"- {note}" for note in notes), ""]
    if imported.issues:
        lines += ["## Validate", "", *(f"- {issue}" for issue in imported.issues), ""]
    return "\n".join(lines)
