"""The rules of the house, held by a test: services never import each other, `shared/`
imports neither a service nor the application layer, and services do not import `app/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (TYPE_CHECKING blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def test_services_never_import_each_other_nor_the_application_layer() -> None:
    broken = []
    for path in files_of("services"):
        own = path.relative_to(ROOT).parts[1]
        for module in imported_modules(path):
            if module.startswith("services.") and top(module, 2) != f"services.{own}":
                broken.append(f"{path.relative_to(ROOT)} imports {module}")
            if module == "app" or module.startswith("app."):
                broken.append(f"{path.relative_to(ROOT)} imports {module}")
    assert broken == []


def test_shared_imports_neither_a_service_nor_the_application_layer() -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files_of("shared")
        for module in imported_modules(path)
        if module.split(".")[0] in ("services", "app")
    ]
    assert broken == []


def test_the_rules_see_an_import(tmp_path: Path) -> None:
    """The check itself finds an import nested in a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from services.router import manager\n")
    assert imported_modules(sample) == {"services.router"}
