"""The rules of the house, held by a test: services never import each other, `shared/`
imports neither a service nor the application layer, and services do not import `app/`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, at any depth (TYPE_CHECKING blocks included), by its
    absolute name: `from services import router` is `services.router`, and a relative
    import is resolved against the file's own package."""
    package = (
        list(path.relative_to(root).with_suffix("").parts[:-1]) if path.is_relative_to(root) else []
    )
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            # `from package import name` may import a module of the package.
            found.update(f"{module}.{alias.name}" for alias in node.names)
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
    assert "services.router" in imported_modules(sample)


def test_the_rules_see_a_package_import_and_a_relative_one(tmp_path: Path) -> None:
    """`from services import router` and `from ..router import manager` in a service are
    imports of another service too."""
    sample = tmp_path / "services" / "verifier" / "sample.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("from services import router\nfrom ..netpolicy import manager\n")
    found = imported_modules(sample, root=tmp_path)
    assert {"services.router", "services.netpolicy.manager"} <= found


def test_the_bus_layer_knows_no_subject_nor_the_contract() -> None:
    """shared/bus/ is the floor: the event contract (shared/events/) and the participants'
    contracts (shared/contract/) stand on it, never the reverse."""
    broken = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files_of("shared/bus")
        for module in imported_modules(path)
        if module.startswith(("shared.events", "shared.contract"))
    ]
    assert broken == []
