"""The runnable parts of a guide in docs/: what the tests run, and how output is compared.

Two kinds of marked blocks; the marker is an HTML comment on the line before the fence:

    <!-- run: SETTING -->          a ```console block: each line starting with `$ ` is a
    ```console                      command (a line ending in `\\` goes on); the lines after
    $ pic-store validate hello      it, up to the next `$ `, are the output it must print.
    OK: hello 1.0.0 is valid ...    `$ echo $?` is not run: its output is the exit code the
    ```                             command before must end with (0 when not shown).

    <!-- file: SETTING PATH -->     the block's text is written to PATH (relative to the
    ```json                         setting's folder) before the commands after it run.

In shown output, `...` (or `…`) stands for any text within a line, and a line of only `...`
for any number of lines; `$NAME` is replaced with the setting's value of NAME when the test
gives one. Every other character must match, line by line (trailing spaces aside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^\s*<!--\s*(run|file):\s*(\S+)(?:\s+(\S+))?\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+)\s*(\S*)\s*$")  # indented in a list item, too
EXIT_ECHO = "echo $?"
ELLIPSIS = ("...", "…")


@dataclass
class Command:
    text: str
    line: int  # where it starts in the guide (1-based)
    output: list[str] = field(default_factory=list)
    exit_code: int = 0


@dataclass
class Step:
    """One marked block: commands to run, or a file to write, in one setting."""

    setting: str
    line: int
    commands: list[Command] = field(default_factory=list)
    path: str | None = None  # a file block
    text: str = ""


class GuideError(ValueError):
    """A marked block the tests cannot read (its line is in the message)."""


def _commands(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    pending: Command | None = None  # a command whose text goes on (`\` at the end)
    for offset, raw in enumerate(body):
        number = first_line + offset
        if pending is not None:
            pending.text += "\n" + raw
            pending = pending if raw.endswith("\\") else None
        elif raw.startswith("$ "):
            text = raw[2:]
            if text.strip() == EXIT_ECHO:
                if not commands:
                    raise GuideError(f"line {number}: `$ echo $?` with no command before it")
                commands.append(Command(EXIT_ECHO, number))
                continue
            commands.append(Command(text, number))
            pending = commands[-1] if raw.endswith("\\") else None
        elif commands:
            commands[-1].output.append(raw)
        elif raw.strip():
            raise GuideError(f"line {number}: output before the first `$ ` command")
    return _apply_exit_echoes(commands)


def _apply_exit_echoes(commands: list[Command]) -> list[Command]:
    kept: list[Command] = []
    for command in commands:
        if command.text != EXIT_ECHO:
            kept.append(command)
            continue
        shown = [line for line in command.output if line.strip()]
        if len(shown) != 1 or not shown[0].strip().isdigit() or not kept:
            raise GuideError(f"line {command.line}: `$ echo $?` must show one exit code")
        kept[-1].exit_code = int(shown[0])
    return kept


def read_steps(path: Path) -> list[Step]:
    """Every marked block of a guide, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        marker = MARKER.match(lines[index])
        index += 1
        if not marker:
            continue
        kind, setting, target = marker.groups()
        fence = FENCE.match(lines[index]) if index < len(lines) else None
        if fence is None:
            raise GuideError(f"{path.name}:{index}: a marker must stand right before a fence")
        indent, ticks, language = fence.groups()
        end = next(
            (i for i in range(index + 1, len(lines)) if lines[i].strip() == ticks),
            None,
        )
        if end is None:
            raise GuideError(f"{path.name}:{index + 1}: the fenced block is never closed")
        body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
        if kind == "run":
            if language != "console" or target is not None:
                raise GuideError(f"{path.name}:{index + 1}: `run:` goes before a console block")
            steps.append(Step(setting, index + 1, commands=_commands(body, index + 2)))
        else:
            if target is None:
                raise GuideError(f"{path.name}:{index}: `file:` needs a SETTING and a PATH")
            steps.append(Step(setting, index + 1, path=target, text="\n".join(body) + "\n"))
        index = end + 1
    return steps


def _line_pattern(line: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        line = line.replace("${" + name + "}", value).replace("$" + name, value)
    parts = re.split(r"(\.\.\.|…)", line.rstrip())
    return "".join(".*" if part in ELLIPSIS else re.escape(part) for part in parts)


def output_pattern(shown: list[str], values: dict[str, str]) -> re.Pattern[str]:
    """A pattern the whole printed output (lines right-stripped) must match."""
    while shown and not shown[-1].strip():
        shown = shown[:-1]
    pieces = [
        r"(?:[^\n]*\n)*?" if line.strip() in ELLIPSIS else _line_pattern(line, values) + r"\n"
        for line in shown
    ]
    return re.compile("".join(pieces))


def output_matches(shown: list[str], printed: str, values: dict[str, str]) -> bool:
    if not any(line.strip() for line in shown):
        return True  # the guide shows no output: only the exit code counts
    text = "".join(line.rstrip() + "\n" for line in printed.rstrip().splitlines())
    return output_pattern(shown, values).fullmatch(text) is not None
