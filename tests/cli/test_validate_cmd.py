import json
import shutil

import pytest

from app.cli.main import main
from tests.manifest.helpers import DATA, NOTES_DIR

pytestmark = pytest.mark.unit


def test_a_valid_folder(capsys):
    assert main(["validate", str(NOTES_DIR)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: notes 1.0.0 is valid")


def test_a_valid_file_as_json(capsys):
    assert main(["validate", str(NOTES_DIR / "manifest.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_an_invalid_manifest_prints_one_issue_per_line(capsys):
    assert main(["validate", str(DATA / "broken-identity.json")]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "$.id",
        "$.image",
        "$.container_name",
        "$.has_subdomian",
    ]
    assert '"Notes App" is not a valid id' in lines[0]
    assert "4 problems found" in captured.err


def test_json_output(capsys):
    assert main(["validate", "--json", str(DATA / "broken-capabilities.json")]) == 1
    issues = json.loads(capsys.readouterr().out)
    assert issues[0] == {"path": "$.has_api_hooks", "message": "is reserved and must be false"}
    assert all(set(issue) == {"path", "message"} for issue in issues)


def test_the_allowed_registry_option(capsys, tmp_path):
    manifest = json.loads((NOTES_DIR / "manifest.json").read_text())
    manifest["image"] = "127.0.0.1:5000/roof/pic-notes:1.0.0"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert main(["validate", str(path)]) == 1
    assert main(["validate", str(path), "--allowed-registry", "127.0.0.1:5000/roof/"]) == 0


def test_the_pic_root_option(tmp_path):
    manifest = json.loads((NOTES_DIR / "manifest.json").read_text())
    manifest["volumes"][0]["mount"] = "/srv/pic/data"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert main(["validate", str(path)]) == 0
    assert main(["validate", str(path), "--pic-root", "/srv/pic"]) == 1


def test_a_folder_template_is_checked_too(capsys, tmp_path):
    folder = tmp_path / "notes"
    shutil.copytree(NOTES_DIR, folder)
    template = folder / "compose-template.yml"
    template.write_text(template.read_text().replace("${PIC_DOMAIN}", "${PIC_DOMAINE}"))
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "compose-template.yml:$.services.notes.environment.NOTES_DOMAIN: ${PIC_DOMAINE}"
    )


@pytest.mark.parametrize(
    ("name", "word"), [("nope.json", "file not found"), ("not-json.json", "line 4 column 3")]
)
def test_unreadable_files(capsys, name, word):
    assert main(["validate", str(DATA / name)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("$: ")
    assert word in out


def test_usage_errors_exit_2(capsys):
    assert main(["validate"]) == 2
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert "usage: pic-store" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("validate", "render", "review"):
        assert command in out
