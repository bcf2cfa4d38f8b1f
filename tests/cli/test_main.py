import argparse
import subprocess
import sys
from types import SimpleNamespace

import pytest

from app.cli import main as cli_main
from app.cli.main import COMMANDS, build_parser, main
from tests.manifest.helpers import DATA, NOTES_DIR, REPO


@pytest.mark.unit
def test_commands_are_modules_with_register():
    names = [c.__name__.rsplit(".", 1)[-1] for c in COMMANDS]
    assert names == [
        "validate",
        "render",
        "review",
        "import_app",
        "up",
        "install",
        "reconfigure",
        "remove",
        "services",
        "backup",
        "restore",
        "config",
        "keygen",
        "sign",
        "verify",
        "publish",
        "routes",
        "peers",
    ]

    def register(subparsers):
        parser = subparsers.add_parser("hello")
        parser.set_defaults(func=lambda args: 0)

    parser = build_parser([*COMMANDS, SimpleNamespace(register=register)])
    assert parser.parse_args(["hello"]).func(argparse.Namespace()) == 0


@pytest.mark.unit
def test_an_unexpected_exception_is_one_line_and_exit_3(capsys, monkeypatch):
    def explode(args):
        raise ValueError("secret-value-inside")

    def register(subparsers):
        subparsers.add_parser("boom").set_defaults(func=explode)

    monkeypatch.setattr(
        cli_main, "build_parser", lambda: build_parser([SimpleNamespace(register=register)])
    )
    monkeypatch.delenv("PIC_STORE_DEBUG", raising=False)
    assert main(["boom"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ValueError" in err
    assert "secret-value-inside" not in err


def test_the_console_script_runs():
    script = REPO / ".venv" / "bin" / "pic-store"
    ok = subprocess.run(
        [str(script), "validate", str(NOTES_DIR)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: notes 1.0.0")
    bad = subprocess.run(
        [str(script), "validate", "--json", str(DATA / "broken-identity.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert '"$.id"' in bad.stdout
    usage = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert usage.returncode == 2
    assert "usage: pic-store" in usage.stderr


def test_python_dash_m_runs_main():
    done = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "validate", str(NOTES_DIR)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
