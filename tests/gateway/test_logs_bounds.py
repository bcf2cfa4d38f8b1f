"""The bounds of a logs answer (services/installer/logs.py), without a container: the last N
lines, each cut to MAX_LINE characters, MAX_BYTES in all, `truncated` whenever anything was
left out. (The lines of a real container, through the gateway: test_services.py.)"""

from __future__ import annotations

import json

import pytest

from services.installer.logs import ContainerLines, bounded, within_budget
from shared.events.logs import MAX_BYTES, MAX_LINE

pytestmark = pytest.mark.unit


def test_the_last_lines_are_kept_and_long_ones_cut() -> None:
    chunks = [f"line {i}\n" for i in range(10)] + ["x" * (MAX_LINE + 500) + "\n"]
    lines, cut = bounded(chunks, 3)
    assert lines[:2] == ["line 8", "line 9"]
    assert lines[2] == "x" * MAX_LINE + "…"
    assert cut


def test_nothing_left_out_is_not_truncated() -> None:
    assert bounded(["a\nb\n", "c\n"], 5) == (["a", "b", "c"], False)


def test_every_container_together_stays_within_the_budget() -> None:
    line = "y" * MAX_LINE
    found: dict[str, ContainerLines] = {
        "big": {"lines": [f"{i} {line}" for i in range(400)], "truncated": False},
        "small": {"lines": ["one", "two"], "truncated": False},
    }
    kept = within_budget(found)
    assert len(json.dumps(kept)) <= MAX_BYTES + 1024  # the JSON around the lines
    assert kept["big"]["truncated"] and kept["big"]["lines"][-1].startswith("399 ")
    assert kept["small"] == {"lines": ["one", "two"], "truncated": False}
