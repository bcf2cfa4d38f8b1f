import json

import pytest

from shared.manifest import ManifestInvalidError, load_manifest, validate_manifest_file
from tests.manifest.helpers import DATA, NOTES_DIR

pytestmark = pytest.mark.unit


def only_issue(path):
    manifest, issues = validate_manifest_file(path)
    assert manifest is None
    assert [i.path for i in issues] == ["$"], issues
    return issues[0].message


def test_load_a_file_or_a_folder():
    assert load_manifest(NOTES_DIR).id == "notes"
    assert load_manifest(NOTES_DIR / "manifest.json").id == "notes"
    assert load_manifest(str(NOTES_DIR)).version == "1.0.0"


def test_missing_files_and_folders(tmp_path):
    assert "file not found" in only_issue(tmp_path / "nope.json")
    assert "no manifest.json" in only_issue(tmp_path)


def test_not_json_names_line_and_column(tmp_path):
    message = only_issue(DATA / "not-json.json")
    assert "not valid JSON" in message
    assert "line 4 column 3" in message


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ('{"id": NaN}', "NaN is not allowed"),
        ('{"id": Infinity}', "Infinity is not allowed"),
        ('{"id": "a", "id": "b"}', "appears twice"),
        ('{"n": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("", "not valid JSON"),
    ],
)
def test_json_that_is_refused(tmp_path, text, word):
    path = tmp_path / "manifest.json"
    path.write_text(text)
    assert word in only_issue(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_bytes(b'{"id": "\xff"}')
    assert "not UTF-8" in only_issue(path)


def test_size_cap(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"description": "x" * (1024 * 1024)}))
    assert "larger than the 1024 KiB limit" in only_issue(path)


def test_load_manifest_raises_with_the_issues():
    with pytest.raises(ManifestInvalidError) as caught:
        load_manifest(DATA / "broken-identity.json")
    assert {i.path for i in caught.value.issues} == {
        "$.id",
        "$.image",
        "$.container_name",
        "$.has_subdomian",
    }


def test_broken_capabilities_example():
    _, issues = validate_manifest_file(DATA / "broken-capabilities.json")
    assert [i.path for i in issues] == [
        "$.has_api_hooks",
        "$.subdomain",
        "$.backend",
        "$.volumes[0].mount",
        "$.env[0].value",
        "$.iptables_rules[0].type",
        "$.egress.allowed",
    ]
