"""Store review of an optional install.sh: it may not install system packages, nor run a
download through a shell (`curl ... | sh`, `bash <(curl ...)`, `sh -c "$(curl ...)"`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from shared.manifest import Issue

INSTALL_SCRIPT = "install.sh"
MAX_SCRIPT_BYTES = 1024 * 1024

_OPTS = r"(?:\s+-\S+)*"  # flags between a command and its verb, e.g. apt-get -y install
_SHELL = r"(?:/\S*/)?(?:ba|z|da|k|c|tc|fi|a)?sh|(?:/\S*/)?(?:python[0-9.]*|perl|ruby|node)"
_FETCH = r"(?:curl|wget|fetch|aria2c)"
_SUDO = r"(?:sudo(?:\s+-\S+)*\s+|doas\s+|env\s+(?:\S+=\S*\s+)*)*"

SYSTEM_PACKAGES = "installs system packages"
PIPED_DOWNLOAD = "runs a download through a shell"
RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (
            r"\b(apt-get|apt|aptitude|yum|dnf|microdnf|zypper|snap|flatpak|brew|port|pkg)"
            rf"{_OPTS}\s+(install|reinstall|upgrade|dist-upgrade|full-upgrade|localinstall"
            r"|groupinstall|in)\b",
            SYSTEM_PACKAGES,
        ),
        (rf"\b(apk){_OPTS}\s+add\b", SYSTEM_PACKAGES),
        (r"\b(dpkg)\b.*\s(-i|--install|--unpack)\b", SYSTEM_PACKAGES),
        (r"\b(rpm)\s+(-[a-zA-Z]*[iUF][a-zA-Z]*|--install|--upgrade|--freshen)\b", SYSTEM_PACKAGES),
        (r"\b(pacman)\s+(-S\w*|-U)\b", SYSTEM_PACKAGES),
        (r"\b(emerge)\s+\S", SYSTEM_PACKAGES),
        (
            r"\b(pip[0-9.]*|python[0-9.]*\s+-m\s+pip)\s+install\b.*"
            r"(--system|--break-system-packages|--root\b|--prefix[= ]/usr)",
            SYSTEM_PACKAGES,
        ),
        (
            r"\bsudo(?:\s+-\S+)*\s+(pip[0-9.]*|python[0-9.]*\s+-m\s+pip|gem)\s+install\b",
            SYSTEM_PACKAGES,
        ),
        (r"\b(npm)\s+(?:i|install|add)\b.*\s(-g|--global)\b", SYSTEM_PACKAGES),
        (r"\b(yarn)\s+global\s+add\b", SYSTEM_PACKAGES),
        (rf"\b{_FETCH}\b[^;&]*\|\s*{_SUDO}(?:{_SHELL})\b", PIPED_DOWNLOAD),
        (rf"(?:^|[\s;&|(])(?:{_SHELL}|source|\.)\s+<\(\s*{_SUDO}{_FETCH}\b", PIPED_DOWNLOAD),
        (rf"\b(?:{_SHELL}|eval)\b[^\n]*(?:\$\(|`)\s*{_FETCH}\b", PIPED_DOWNLOAD),
    )
)


def script_issues(path: Path) -> list[Issue]:
    """Issues of an install.sh (file `install.sh`, path = the line number)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SCRIPT_BYTES + 1)
    except OSError as exc:
        return [Issue("1", f"cannot read the script: {exc.strerror or exc}", INSTALL_SCRIPT)]
    if len(raw) > MAX_SCRIPT_BYTES:
        return [Issue("1", "the script is larger than 1 MiB", INSTALL_SCRIPT)]
    return list(scan_script(raw.decode("utf-8", "replace")))


def scan_script(text: str) -> Iterator[Issue]:
    for line_number, command in _commands(text):
        for pattern, reason in RULES:
            match = pattern.search(command)
            if match:
                tool = match.group(1) if match.re.groups else match.group(0).split()[0]
                what = f"{reason} ({tool})" if reason == SYSTEM_PACKAGES else reason
                yield Issue(str(line_number), f"{what}: {_short(command)}", INSTALL_SCRIPT)
                break


def _commands(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, command) with comments dropped and `\\` continuations joined."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        code = _strip_comment(line)
        if code.endswith("\\"):
            pending.append(code[:-1])
            continue
        pending.append(code)
        command = " ".join(part.strip() for part in pending).strip()
        pending = []
        if command:
            yield start, command
    if pending:
        yield start, " ".join(part.strip() for part in pending)


def _strip_comment(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0].rstrip()


def _short(command: str) -> str:
    return command if len(command) <= 120 else command[:117] + "..."
