"""docs/architecture.md §7 lists every error key as the code has it (shared/errors_doc.py
generates the table): a new key not in the document, a key in it that no code makes any more,
or an error class nobody raises fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.errors_doc import BEGIN, DOC, END, documented, problems, section, write

pytestmark = pytest.mark.unit

KEY = re.compile(r"^\| (?:\(`|`)([a-z0-9_]+)`", re.M)


def keys(table: str) -> set[str]:
    return set(KEY.findall(table))


def test_architecture_md_lists_every_error_key_as_the_code_has_it() -> None:
    in_doc, in_code = documented(DOC.read_text()), section()
    assert keys(in_code) - keys(in_doc) == set(), "keys missing from docs/architecture.md §7"
    assert keys(in_doc) - keys(in_code) == set(), "keys in docs/architecture.md no code has"
    assert in_doc == in_code, (
        "docs/architecture.md §7 differs from the code (a class, its docstring or where it is "
        "raised changed): run `python -m shared.errors_doc --write`"
    )
    assert len(keys(in_code)) >= 64  # the generator still finds the whole tree


def test_every_documented_key_is_made_by_some_code() -> None:
    assert problems() == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


BASE = {
    "shared/__init__.py": "",
    "shared/errors.py": (
        "class PicStoreError(Exception):\n"
        '    """Root."""\n\n'
        '    key = "pic_store_error"\n\n\n'
        "class OperationError(PicStoreError):\n"
        '    """An operation failed."""\n\n'
        '    key = "operation_failed"\n'
    ),
    "services/__init__.py": "",
    "services/thing/__init__.py": "",
    "services/thing/work.py": (
        "from shared.errors import OperationError\n\n\n"
        "def work() -> None:\n"
        '    raise OperationError("no")\n'
    ),
    "services/thing/keys.py": 'UNEXPECTED = ("internal_error", "step_unknown")\n',
    "app/__init__.py": "",
}
WITHOUT_CLASS = {"internal_error", "step_unknown"}


def test_the_check_fails_on_a_new_key_a_gone_one_or_one_nobody_raises(tmp_path: Path) -> None:
    before = _tree(tmp_path / "before", BASE)
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# 7\n\n{END}\n")
    with pytest.raises(ValueError, match="markers"):
        write(doc, before)
    doc.write_text(f"# 7\n\n{BEGIN}\n{END}\n\nafter\n")
    assert write(doc, before) is True
    assert keys(documented(doc.read_text())) == {"pic_store_error", "operation_failed"} | (
        WITHOUT_CLASS
    )
    assert doc.read_text().startswith("# 7\n\n") and doc.read_text().endswith("\n\nafter\n")
    assert problems(before) == []

    # A new error class, raised: the document no longer matches, until it is regenerated.
    after = _tree(
        tmp_path / "after",
        BASE
        | {
            "services/thing/errors.py": (
                "from shared.errors import OperationError\n\n\n"
                "class ThingError(OperationError):\n"
                '    """The thing broke."""\n\n'
                '    key = "thing_broke"\n\n\n'
                "class NeverError(OperationError):\n"
                '    key = "never_raised"\n'
            ),
            "services/thing/work.py": (
                "from services.thing.errors import ThingError\n\n\n"
                "def work() -> None:\n"
                '    raise ThingError("no")\n\n\n'
                "def report(result: object) -> dict[str, object]:\n"
                '    return dict(error_key="made_up")\n'
            ),
        },
    )
    assert documented(doc.read_text()) != section(after)
    assert keys(section(after)) - keys(documented(doc.read_text())) == {
        "thing_broke",
        "never_raised",
    }
    assert "| `thing_broke` | `ThingError` (OperationError) | `services/thing/errors.py` | " in (
        section(after)
    )
    assert "The thing broke." in section(after)
    # OperationError is raised nowhere now, but ThingError derives from it: a base, fine.
    assert problems(after) == [
        "services/thing/errors.py: NeverError (never_raised) is never raised, and no error "
        "derives from it",
        "services/thing/work.py:9: error_key='made_up': a key without a class: add it to "
        "KEYS_WITHOUT_CLASS",
    ]
    assert write(doc, after) is True
    assert documented(doc.read_text()) == section(after)
    assert write(doc, after) is False

    # A key without a class that no code writes any more.
    gone = _tree(tmp_path / "gone", BASE | {"services/thing/keys.py": 'X = "internal_error"\n'})
    assert problems(gone) == [
        "step_unknown is documented as a key without a class, but no code writes it"
    ]


def test_a_key_reported_without_raising_its_class_counts_as_made(tmp_path: Path) -> None:
    files = BASE | {
        "services/thing/errors.py": (
            "from shared.errors import PicStoreError\n\n\n"
            "class RollbackError(PicStoreError):\n"
            '    """Not every step was undone."""\n\n'
            '    key = "rollback_incomplete"\n'
        ),
    }
    unreported = _tree(tmp_path / "unreported", files)
    assert problems(unreported) == [
        "services/thing/errors.py: RollbackError (rollback_incomplete) is never raised, and no "
        "error derives from it"
    ]
    reported = _tree(
        tmp_path / "reported",
        files
        | {
            "services/thing/report.py": (
                "from services.thing.errors import RollbackError\n\nKEY = RollbackError.key\n"
            )
        },
    )
    assert problems(reported) == []
    assert "| `services/thing/report.py` | Not every step was undone. |" in section(reported)
