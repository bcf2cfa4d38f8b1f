"""One bash for all the commands of a setting, as a reader's terminal: `cd` and `export`
carry over from one command to the next. Each command's output (stdout and stderr, in the
order printed) and exit code come back separately."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
import uuid
from pathlib import Path

from tests.docs.guide import Command, Step, output_matches


class Shell:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.cwd = cwd
        self._lines: queue.Queue[str] = queue.Queue()
        assert self._proc.stdout is not None
        stream = self._proc.stdout
        threading.Thread(target=lambda: [self._lines.put(x) for x in stream], daemon=True).start()

    def run(self, text: str, timeout: float) -> tuple[int, str]:
        """Run one command; (exit code, what it printed)."""
        end = f"__guide_done_{uuid.uuid4().hex}__"
        assert self._proc.stdin is not None
        # The command reads nothing from our pipe; its output ends with a newline of ours.
        self._proc.stdin.write(f"{{\n{text}\n}} </dev/null 2>&1\nprintf '\\n{end} %d\\n' $?\n")
        self._proc.stdin.flush()
        printed: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                if self._proc.poll() is not None:
                    break
                continue
            if line.startswith(end):
                output = "".join(printed)
                return int(line.split()[1]), output[:-1] if output.endswith("\n") else output
            printed.append(line)
        raise AssertionError(
            f"`{text}` did not finish within {timeout:.0f} s; it printed:\n" + "".join(printed)
        )

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def check(command: Command, code: int, printed: str, values: dict[str, str], where: str) -> None:
    """Fail naming the guide's line when the exit code or the output is not the one shown."""
    shown = "\n".join(command.output)
    if code != command.exit_code:
        raise AssertionError(
            f"{where}:{command.line}: `{command.text}` exited {code}, the guide says "
            f"{command.exit_code}; it printed:\n{printed}"
        )
    if not output_matches(command.output, printed, values):
        raise AssertionError(
            f"{where}:{command.line}: `{command.text}` printed:\n{printed}\n"
            f"--- but the guide shows:\n{shown}"
        )


def run_steps(
    steps: list[Step],
    shell: Shell,
    root: Path,
    values: dict[str, str],
    where: str,
    timeout: float = 120.0,
) -> int:
    """Write the file blocks and run the commands, in the guide's order; the number run."""
    ran = 0
    for step in steps:
        if step.path is not None:
            target = root / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text)
            continue
        for command in step.commands:
            code, printed = shell.run(command.text, timeout)
            check(command, code, printed, values, where)
            ran += 1
    return ran
