"""Load a compose template (YAML, with limits) and fill in variables scalar by scalar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.compose.const import MAX_DEPTH, MAX_NODES, MAX_TEMPLATE_BYTES
from shared.compose.variables import Resolver, VariableProblem, as_text, substitute
from shared.manifest import ConfigValue, Issue, json_path
from shared.manifest.issues import PathPart, show
from shared.manifest.variables import TemplateSyntaxError, Variable, parse_template


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (Compose refuses it too)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and not key_node.tag.endswith(":merge"):
                key = (key_node.tag, str(key_node.value))
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {show(key[1])} appears twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


def load_template(text: str) -> tuple[object, list[Issue]]:
    """The parsed YAML tree, or one Issue at `$` saying why it is not usable."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEMPLATE_BYTES:
        return None, [Issue("$", f"the template is larger than {MAX_TEMPLATE_BYTES // 1024} KiB")]
    try:
        return yaml.load(text, Loader=_Loader), []  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        return None, [Issue("$", f"the template is not valid YAML: {_short(str(exc))}")]
    except RecursionError:
        return None, [Issue("$", "the template is nested too deeply")]
    except (ValueError, TypeError, OverflowError) as exc:
        return None, [Issue("$", f"the template has a value YAML cannot read: {_short(str(exc))}")]


def read_template(path: Path) -> str:
    """A template file's text, reading at most one byte past the size limit (load_template
    then refuses it); OSError when it cannot be read."""
    with path.open("rb") as handle:
        return handle.read(MAX_TEMPLATE_BYTES + 1).decode("utf-8", "replace")


class TemplateTooLarge(Exception):
    pass


class Walker:
    """Fill in every string scalar of a tree (mapping keys too), collecting Issues."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.issues: list[Issue] = []
        self._nodes = 0

    def walk(self, node: object, path: tuple[PathPart, ...] = ()) -> object:
        self._nodes += 1
        if self._nodes > MAX_NODES or len(path) > MAX_DEPTH:
            raise TemplateTooLarge
        if isinstance(node, dict):
            out: dict[object, object] = {}
            for key, value in node.items():
                where = (*path, str(key))
                if isinstance(key, str) and _names_a_setting(key):
                    self.issues.append(Issue(json_path(*where), _SETTING_IN_KEY))
                    continue
                new_key = as_text(self.scalar(key, where)) if isinstance(key, str) else key
                if new_key in out:
                    self.issues.append(
                        Issue(
                            json_path(*where),
                            "this key repeats another key once variables are filled in",
                        )
                    )
                out[new_key] = self.walk(value, where)
            return out
        if isinstance(node, list):
            return [self.walk(item, (*path, index)) for index, item in enumerate(node)]
        if isinstance(node, str):
            return self.scalar(node, path)
        return node

    def scalar(self, text: str, path: tuple[PathPart, ...]) -> ConfigValue:
        try:
            return substitute(text, self.resolver)
        except VariableProblem as exc:
            self.issues.append(Issue(json_path(*path), str(exc)))
            return text


_SETTING_IN_KEY = (
    "a key may not use a setting or a secret: a value the admin enters must never become a "
    "Compose key"
)


def _names_a_setting(key: str) -> bool:
    try:
        pieces = parse_template(key)
    except TemplateSyntaxError:
        return False  # scalar() reports the syntax error
    return any(
        isinstance(piece, Variable) and (piece.config_key or piece.secret_name) for piece in pieces
    )


def fill_in(tree: object, resolver: Resolver) -> tuple[object, list[Issue]]:
    walker = Walker(resolver)
    try:
        filled = walker.walk(tree)
    except TemplateTooLarge:
        return None, [
            Issue(
                "$", f"the template expands to more than {MAX_NODES} values or {MAX_DEPTH} levels"
            )
        ]
    return filled, walker.issues


def escape_values(node: object) -> object:
    """Double every `$` in string values (not keys: Compose does not interpolate keys)."""
    if isinstance(node, dict):
        return {key: escape_values(value) for key, value in node.items()}
    if isinstance(node, list):
        return [escape_values(item) for item in node]
    if isinstance(node, str):
        return node.replace("$", "$$")
    return node


def _short(text: str) -> str:
    return " ".join(text.split())[:300]
