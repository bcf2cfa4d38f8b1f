import pytest

from shared.manifest import Manifest, ManifestInvalidError, parse_manifest
from tests.manifest.helpers import by_path, issues_of, minimal, notes, only_issue_at

pytestmark = pytest.mark.unit


def test_the_example_and_the_seed_minimal_manifest_are_valid():
    assert issues_of(notes()) == []
    assert issues_of(minimal()) == []
    assert isinstance(parse_manifest(notes()), Manifest)


@pytest.mark.parametrize(
    "field",
    [
        "schema_version",
        "id",
        "name",
        "description",
        "version",
        "author",
        "kind",
        "image",
        "container_name",
    ],
)
def test_each_identity_field_is_required(field):
    data = minimal()
    del data[field]
    only_issue_at(data, f"$.{field}", f"{field} is required")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("schema_version", 2, ["must be 3"]),
        ("schema_version", "3", ["whole number", '"3"']),
        ("schema_version", 3.0, ["whole number"]),
        ("schema_version", True, ["whole number"]),
        ("kind", "system", ['"store"', '"system"']),
        ("id", "../x", ['"../x"', "not a valid id"]),
        ("id", "Notes App", ['"Notes App"', "lowercase"]),
        ("id", "-notes", ["not a valid id"]),
        ("id", "a" * 32, ["not a valid id"]),
        ("id", "", ["not a valid id"]),
        ("name", "", ["must not be empty"]),
        ("name", "   ", ["must not be empty"]),
        ("name", "two\nlines", ["one line"]),
        ("name", "x" * 101, ["at most 100"]),
        ("author", 7, ["must be text", "number 7"]),
        ("description", "", ["must not be empty"]),
        ("description", "x" * 2001, ["at most 2000"]),
        ("version", "1.0", ['"1.0"', "semantic version"]),
        ("version", "v1.0.0", ["semantic version"]),
        ("version", "01.0.0", ["semantic version"]),
        ("version", "1.0.0-rc.01", ["leading zeros"]),
        ("container_name", "notes", ['"notes"', "^cell-"]),
        ("container_name", "cell-Notes", ["not a valid container name"]),
        ("container_name", "cell-", ["not a valid container name"]),
        ("container_name", "cell-" + "a" * 32, ["not a valid container name"]),
    ],
)
def test_identity_field_rules(field, value, words):
    only_issue_at(minimal(**{field: value}), f"$.{field}", *words)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "notes-2"),
        ("id", "0"),
        ("id", "a" * 31),
        ("version", "1.2.3-rc.1+build.7"),
        ("version", "0.0.0"),
        ("container_name", "cell-a"),
        ("container_name", "cell-notes-2"),
        ("description", "multi\nline is fine"),
    ],
)
def test_identity_values_that_pass(field, value):
    assert issues_of(minimal(**{field: value})) == []


def test_an_unknown_top_level_field_is_named():
    issue = only_issue_at(
        minimal(has_subdomian=True), "$.has_subdomian", "unknown field", "has_subdomian"
    )
    assert "spelling" in issue.message


def test_unknown_fields_inside_blocks_are_reported_too():
    data = notes()
    data["volumes"][0]["mode"] = "ro"
    only_issue_at(data, "$.volumes[0].mode", "unknown field")


def test_an_odd_key_is_quoted_in_the_path():
    assert by_path(issues_of(minimal(**{"my key": 1}))).keys() == {'$["my key"]'}


@pytest.mark.parametrize("data", [None, [], [1], "manifest", 3, 2.5, True])
def test_a_manifest_must_be_an_object(data):
    issues = issues_of(data)
    assert len(issues) == 1
    assert issues[0].path == "$"
    assert "JSON object" in issues[0].message


def test_every_issue_is_reported_at_once():
    data = minimal(id="Bad Id", version="one", container_name="x", kind="k", typo=1)
    assert set(by_path(issues_of(data))) == {
        "$.id",
        "$.version",
        "$.container_name",
        "$.kind",
        "$.typo",
    }


def test_issues_come_in_manifest_field_order():
    data = minimal(container_name="x", id="Bad Id")
    assert [i.path for i in issues_of(data)] == ["$.id", "$.container_name"]


def test_parse_manifest_raises_with_every_issue():
    with pytest.raises(ManifestInvalidError) as caught:
        parse_manifest(minimal(id="Bad Id", version="x"))
    assert [i.path for i in caught.value.issues] == ["$.id", "$.version"]
    assert caught.value.key == "manifest_invalid"
    assert "$.id" in str(caught.value)


def test_issue_to_dict_and_text():
    issue = issues_of(minimal(id="X"))[0]
    assert issue.to_dict() == {"path": "$.id", "message": issue.message}
    assert str(issue) == f"$.id: {issue.message}"


def test_manifest_helpers():
    manifest = parse_manifest(notes())
    assert [(r.subdomain, r.container, r.port) for r in manifest.routes] == [
        ("notes", "cell-notes", 8080)
    ]
    assert manifest.own_containers == {"cell-notes"}
    assert str(manifest.parsed_version) == "1.0.0"
    assert manifest.image_ref.tag == "1.0.0"
    assert [f.variable for f in manifest.config_fields][:2] == [
        "PIC_CFG_SITE_TITLE",
        "PIC_CFG_MAX_UPLOAD_MB",
    ]
