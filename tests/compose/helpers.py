from __future__ import annotations

from typing import Any

from shared.compose import RenderContext
from shared.manifest import Manifest, parse_manifest
from tests.manifest.helpers import NOTES_DIR, minimal, notes

TEMPLATE = (NOTES_DIR / "compose-template.yml").read_text()
IP = "172.20.0.21"


def notes_manifest(**changes: Any) -> Manifest:
    return parse_manifest({**notes(), **changes})


def plain_manifest(**changes: Any) -> Manifest:
    """No capabilities, no env: only what a test's own template uses."""
    return parse_manifest(minimal(**changes))


def context(**changes: Any) -> RenderContext:
    values: dict[str, Any] = {
        "domain": "pic.example.org",
        "cell_name": "home",
        "data_dir": "/srv/pic/data",
        "service_ip": IP,
    }
    values.update(changes)
    return RenderContext(**values)


def one_service(body: str, name: str = "notes") -> str:
    """A template whose only service is the main container of the plain manifest."""
    indented = "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    head = f"services:\n  {name}:\n    image: git.pic.ngo/roof/x:1\n"
    return f"{head}    container_name: cell-notes\n{indented}"


def compose_value(text: str) -> str:
    """What Compose reads from a value of the rendered file ($$ is a literal $)."""
    return text.replace("$$", "$")
