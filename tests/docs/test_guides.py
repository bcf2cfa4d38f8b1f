"""The guides' shape, without running anything: the runnable blocks are read as meant, shown
output is compared strictly enough to catch a change, every field of the cell config is in
the operator's guide, and README links both guides."""

from __future__ import annotations

from pathlib import Path
from types import NoneType, UnionType
from typing import Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from shared.config import CellConfig
from tests.docs.guide import GuideError, output_matches, read_steps

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs"
SETTINGS = {"store-author.md": {"author"}, "operator.md": {"cell", "repo"}}

SAMPLE = """\
text
<!-- file: s dir/a.txt -->
```text
hello
```
   <!-- run: s -->
   ```console
   $ cat dir/a.txt \\
       | tr a-z A-Z
   HELLO
   $ false
   $ echo $?
   1
   ```
```console
$ not marked, not run
```
"""


def test_marked_blocks_are_read_in_order_with_output_and_exit_codes(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text(SAMPLE)
    file_step, run_step = read_steps(guide)
    assert (file_step.setting, file_step.path, file_step.text) == ("s", "dir/a.txt", "hello\n")
    first, second = run_step.commands
    assert first.text == "cat dir/a.txt \\\n    | tr a-z A-Z"
    assert (first.output, first.exit_code) == (["HELLO"], 0)
    assert (second.text, second.exit_code) == ("false", 1)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<!-- run: s -->\ntext\n", "right before a fence"),
        ("<!-- run: s -->\n```console\n$ true\n", "never closed"),
        ("<!-- run: s -->\n```json\n{}\n```\n", "before a console block"),
        ("<!-- run: s -->\n```console\nstray\n$ true\n```\n", "output before"),
        ("<!-- run: s -->\n```console\n$ true\n$ echo $?\nzero\n```\n", "one exit code"),
        ("<!-- file: s -->\n```json\n{}\n```\n", "SETTING and a PATH"),
    ],
)
def test_a_block_the_tests_cannot_read_is_named(tmp_path: Path, body: str, reason: str) -> None:
    guide = tmp_path / "g.md"
    guide.write_text(body)
    with pytest.raises(GuideError, match=reason):
        read_steps(guide)


@pytest.mark.parametrize(
    ("shown", "printed", "matches"),
    [
        (["OK: hello"], "OK: hello\n", True),
        (["OK: hello"], "OK: hello  \n\n", True),  # trailing blanks aside
        (["OK: hello"], "OK: hullo\n", False),
        (["OK: hello"], "OK: hello\nmore\n", False),  # an extra line is a change
        (["OK: hello", "..."], "OK: hello\nmore\nlines\n", True),
        (["...", "last"], "first\nlast\n", True),
        (["image: ...@sha256:..."], "image: r/x@sha256:ab12\n", True),
        (["image: ...@sha256:..."], "image: r/x:1.0\n", False),
        (["a", "...", "c"], "a\nc\n", True),
        (["a", "...", "c"], "a\nb\nb\nc\n", True),
        (["a", "c"], "a\nb\nc\n", False),
        (["$REGISTRY/roof/x"], "127.0.0.1:5000/roof/x\n", True),
        (["$REGISTRY/roof/x"], "127.0.0.1:5001/roof/x\n", False),
        (["costs $0 (a.b)"], "costs $0 (aXb)\n", False),  # no regex leaks from the text
        ([], "anything\n", True),  # nothing shown: only the exit code counts
    ],
)
def test_shown_output_is_compared_line_by_line(
    shown: list[str], printed: str, matches: bool
) -> None:
    assert output_matches(shown, printed, {"REGISTRY": "127.0.0.1:5000"}) is matches


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_guide_has_runnable_blocks_only_in_settings_a_test_runs(name: str) -> None:
    steps = read_steps(DOCS / name)
    assert {s.setting for s in steps} == SETTINGS[name]
    assert sum(len(s.commands) for s in steps) >= 10


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside a field's type (X, X | None, dict[K, X], list[X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, UnionType, list, dict):
        args = get_args(annotation)
        inner = args[1:] if get_origin(annotation) is dict else args
        return [m for arg in inner if arg is not NoneType for m in _models(arg)]
    return []


def field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of the cell config and its sections, as `section.field`; a dict of
    sections (netpolicy.egress) as `section.KIND.field`."""
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        keyed = get_origin(info.annotation) is dict
        inner_models = _models(info.annotation)
        if keyed or not inner_models:  # a section is its fields; a dict of them is a field
            paths.append(path)
        for inner in inner_models:
            paths += field_paths(inner, f"{path}.KIND." if keyed else f"{path}.")
    return paths


def test_every_field_of_the_cell_config_is_in_the_operators_guide() -> None:
    guide = (DOCS / "operator.md").read_text()
    paths = field_paths(CellConfig)
    assert "router.dns.tsig_secret" in paths and "netpolicy.egress.KIND.endpoint" in paths
    missing = [p for p in paths if f"| `{p}` |" not in guide]
    assert not missing, f"docs/operator.md has no table row for: {', '.join(missing)}"


def test_readme_links_both_guides() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for name in SETTINGS:
        assert f"(docs/{name})" in readme, f"README.md does not link docs/{name}"
