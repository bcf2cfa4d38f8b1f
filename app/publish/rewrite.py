"""Change a manifest's `image` in its JSON text, keeping everything else byte for byte."""

from __future__ import annotations

import json
import re
from typing import Any

_IMAGE = re.compile(r'("image"\s*:\s*)("(?:[^"\\]|\\.)*")')


def _indent(text: str) -> int:
    match = re.search(r"\n([ \t]+)\"", text)
    return len(match.group(1)) if match else 2


def rewrite_image(text: str, image: str) -> str:
    """`text` with the top-level `image` set to `image`. The value is replaced in place when
    it can be found unambiguously; otherwise the JSON is written again (same indent)."""
    data: dict[str, Any] = json.loads(text)
    wanted = {**data, "image": image}
    old = data.get("image")
    found = [m for m in _IMAGE.finditer(text) if json.loads(m.group(2)) == old]
    if len(found) == 1:
        match = found[0]
        edited = text[: match.start(2)] + json.dumps(image) + text[match.end(2) :]
        if json.loads(edited) == wanted:
            return edited
    ending = "\n" if text.endswith("\n") else ""
    return json.dumps(wanted, indent=_indent(text), ensure_ascii=False) + ending
