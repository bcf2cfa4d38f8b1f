import json

import pytest

from app.cli.main import main
from tests.manifest.helpers import REPO

pytestmark = pytest.mark.unit

STORE = REPO / "examples" / "store"
SERVICE = str(STORE / "services" / "notes")
INDEX = str(STORE / "index.json")


EXAMPLES = [entry["path"] for entry in json.loads((STORE / "index.json").read_text())["services"]]


@pytest.mark.parametrize("path", EXAMPLES)
def test_every_example_passes_validate_and_review(capsys, path):
    folder = str(STORE / path)
    assert main(["validate", folder]) == 0, capsys.readouterr().err
    assert main(["review", folder, "--index", INDEX]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: ")


def test_the_same_version_as_before_fails(capsys):
    previous = str(STORE / "services" / "notes" / "manifest.json")
    assert main(["review", SERVICE, "--index", INDEX, "--previous", previous]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "$.version: version 1.0.0 must be greater than the previous version 1.0.0"
    )
    assert "1 problem found" in captured.err


def test_json_output_names_other_files(capsys, tmp_path):
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"services": []}))
    assert main(["review", SERVICE, "--index", str(index), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {
            "path": "$.services",
            "message": 'the service "notes" is not listed: add an entry for it',
            "file": "index.json",
        }
    ]


def test_the_index_is_required(capsys):
    assert main(["review", SERVICE]) == 2
    assert "--index" in capsys.readouterr().err
