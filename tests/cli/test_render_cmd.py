import json
import os
import stat

import pytest
import yaml

from app.cli.main import main
from tests.manifest.helpers import DATA, NOTES_DIR

pytestmark = pytest.mark.unit

CELL = [
    "--domain",
    "pic.example.org",
    "--cell-name",
    "home",
    "--data-dir",
    "/srv/pic/data",
    "--service-ip",
    "172.20.0.30",
]


def render(*extra):
    return main(["render", str(NOTES_DIR), *CELL, *extra])


def test_render_prints_the_compose_file(capsys):
    assert render("--set", "MAX_UPLOAD_MB=25", "--set", "theme=dark") == 0
    captured = capsys.readouterr()
    doc = yaml.safe_load(captured.out)
    env = doc["services"]["cell-notes"]["environment"]
    assert env["NOTES_MAX_UPLOAD_MB"] == 25
    assert env["NOTES_THEME"] == "dark"
    assert doc["services"]["cell-notes"]["networks"]["pic-cell"]["ipv4_address"] == "172.20.0.30"
    assert "not saved (NOTES_SECRET, ACCOUNTS_API)" in captured.err
    assert env["NOTES_SECRET"] not in captured.err


def test_secrets_file_is_created_private_and_reused(capsys, tmp_path):
    secrets = tmp_path / "secrets.json"
    assert render("--secrets", str(secrets)) == 0
    first = capsys.readouterr()
    stored = json.loads(secrets.read_text())
    assert sorted(stored) == ["ACCOUNTS_API", "NOTES_SECRET"]
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert "saved new secrets" in first.err
    assert stored["NOTES_SECRET"] not in first.err
    assert render("--secrets", str(secrets)) == 0
    second = capsys.readouterr()
    assert second.out == first.out
    assert second.err == ""
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary file left


def test_a_secrets_file_is_created_even_without_new_secrets(tmp_path):
    folder = tmp_path / "svc"
    folder.mkdir()
    manifest = json.loads((NOTES_DIR / "manifest.json").read_text())
    manifest["env"] = [e for e in manifest["env"] if "SECRET" not in e["value"]]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "compose-template.yml").write_text((NOTES_DIR / "compose-template.yml").read_text())
    secrets = tmp_path / "secrets.json"
    assert main(["render", str(folder), *CELL, "--secrets", str(secrets)]) == 0
    assert json.loads(secrets.read_text()) == {}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--set", "theme"], ["--set number 1", "KEY=VALUE"]),
        (["--set", "=dark"], ["--set number 1"]),
        (["--set", "colour=red"], ["config.colour", "unknown setting"]),
        (["--set", "max_upload_mb=lots"], ["config.max_upload_mb", "whole number"]),
        (["--set", "theme=blue"], ["config.theme", "light, dark"]),
    ],
)
def test_bad_settings_exit_1_naming_the_key(capsys, args, words):
    assert render(*args) == 1
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_secret_settings_are_never_echoed(capsys):
    assert main(["render", str(NOTES_DIR), *CELL, "--set", "smtp_password=" + "p" * 5000]) == 1
    err = capsys.readouterr().err
    assert "config.smtp_password" in err
    assert "ppppp" not in err


def test_an_invalid_manifest_exits_1_with_its_issues(capsys):
    assert main(["render", str(DATA / "broken-identity.json"), *CELL]) == 1
    err = capsys.readouterr().err
    assert "$.id:" in err
    assert "4 problems found" in err


def test_render_errors_exit_1(capsys):
    args = [
        "render",
        str(NOTES_DIR),
        "--domain",
        "pic.example.org",
        "--cell-name",
        "home",
        "--data-dir",
        "/srv",
    ]
    assert main(args) == 1
    assert "${SERVICE_IP} is used but no service IP" in capsys.readouterr().err


def test_a_broken_secrets_file(capsys, tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"NOTES_SECRET": ["not", "text"], "X": "stored-value"}')
    assert render("--secrets", str(secrets)) == 1
    err = capsys.readouterr().err
    assert "must be a JSON object of names to text" in err
    assert "stored-value" not in err


def test_a_missing_template(capsys, tmp_path):
    assert render("--template", str(tmp_path / "nope.yml")) == 1
    assert "cannot read the template" in capsys.readouterr().err
