import json
import shutil

import pytest

from app.review import review_service
from tests.manifest.helpers import REPO

pytestmark = pytest.mark.unit

EXAMPLE_STORE = REPO / "examples" / "store"


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    shutil.copytree(EXAMPLE_STORE, root)
    return root


def edit_json(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return data


def add_service(store, service_id, subdomain=None, listed_subdomain=None, extra=None):
    """Another store service: its folder and manifest, and an index entry."""
    folder = store / "services" / service_id
    folder.mkdir(parents=True)
    manifest = {"id": service_id, "subdomain": subdomain} if subdomain else {"id": service_id}
    if extra:
        manifest["extra_subdomains"] = extra
    (folder / "manifest.json").write_text(json.dumps(manifest))
    index = json.loads((store / "index.json").read_text())
    entry = {"id": service_id, "name": service_id.title(), "version": "2.0.0"}
    if listed_subdomain:
        entry["subdomain"] = listed_subdomain
    index["services"].append(entry)
    (store / "index.json").write_text(json.dumps(index))


def review(store, **kwargs):
    return review_service(store / "services" / "notes", store / "index.json", **kwargs)


def locations(issues):
    return [issue.location for issue in issues]


def test_the_example_store_passes_review(store):
    assert review(store) == []


def test_the_index_can_be_given_as_a_dict(store):
    index = json.loads((store / "index.json").read_text())
    assert review_service(store / "services" / "notes", index) == []


@pytest.mark.parametrize(
    ("previous", "ok"),
    [("0.9.0", True), ("1.0.0-rc.1", True), ("1.0.0", False), ("1.0.1", False), ("2.0.0", False)],
)
def test_the_version_must_grow(store, tmp_path, previous, ok):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"id": "notes", "version": previous}))
    issues = review(store, previous_manifest=old)
    if ok:
        assert issues == []
    else:
        assert locations(issues) == ["$.version"]
        assert f"greater than the previous version {previous}" in issues[0].message


def test_a_previous_manifest_of_another_service(store):
    issues = review(store, previous_manifest={"id": "files", "version": "0.1.0"})
    assert [(i.file, i.path) for i in issues] == [("previous manifest", "$.id")]


def test_a_missing_previous_manifest_file(store, tmp_path):
    issues = review(store, previous_manifest=tmp_path / "nope.json")
    assert len(issues) == 1
    assert "file not found" in issues[0].message


def test_the_service_must_be_listed_with_the_same_version(store):
    edit_json(store / "services" / "notes" / "manifest.json", version="1.1.0")
    issues = review(store)
    assert locations(issues) == ["index.json:$.services[0].version"]
    assert '"1.0.0"' in issues[0].message
    assert '"1.1.0"' in issues[0].message


def test_index_entries_must_agree_with_the_manifest(store):
    index = json.loads((store / "index.json").read_text())
    index["services"][0].update(name="Notebook", subdomain="notebook")
    (store / "index.json").write_text(json.dumps(index))
    assert locations(review(store)) == [
        "index.json:$.services[0].name",
        "index.json:$.services[0].subdomain",
    ]


def test_an_unlisted_service(store):
    (store / "index.json").write_text(json.dumps({"services": []}))
    issues = review(store)
    assert locations(issues) == ["index.json:$.services"]
    assert "not listed" in issues[0].message


@pytest.mark.parametrize(
    ("index_text", "location"),
    [
        ("not json", "index.json:$"),
        ("[]", "index.json:$"),
        ('{"services": [{"id": "notes"}]}', "index.json:$.services[0].name"),
        (
            '{"services": [{"id": "Notes", "name": "n", "version": "1.0.0"}]}',
            "index.json:$.services[0].id",
        ),
    ],
)
def test_a_broken_index(store, index_text, location):
    (store / "index.json").write_text(index_text)
    assert location in locations(review(store))


def test_an_id_listed_twice(store):
    index = json.loads((store / "index.json").read_text())
    index["services"].append(index["services"][0])
    (store / "index.json").write_text(json.dumps(index))
    assert locations(review(store)) == [f"index.json:$.services[{len(index['services']) - 1}].id"]


def test_a_subdomain_listed_for_another_service_in_the_index(store):
    add_service(store, "jotter", listed_subdomain="notes")
    issues = review(store)
    assert locations(issues) == ["$.subdomain"]
    assert '"notes"' in issues[0].message
    assert '"jotter"' in issues[0].message


def test_a_subdomain_used_by_another_services_manifest_in_the_store(store):
    add_service(store, "jotter", subdomain="jot", extra=["notes"])
    assert locations(review(store)) == ["$.subdomain"]


def test_extra_subdomains_must_not_collide_either(store):
    add_service(store, "dav", subdomain="dav")
    edit_json(
        store / "services" / "notes" / "manifest.json",
        extra_subdomains=["dav"],
        extra_backends=["cell-notes:8081"],
    )
    assert locations(review(store)) == ["$.extra_subdomains[0]"]


def test_collisions_are_found_even_when_the_manifest_is_invalid(store):
    add_service(store, "jotter", listed_subdomain="notes")
    edit_json(store / "services" / "notes" / "manifest.json", image="docker.io/notes:1")
    assert locations(review(store)) == ["$.image", "$.subdomain"]


def test_everything_validate_finds_is_reported(store):
    edit_json(store / "services" / "notes" / "manifest.json", subdomain="admin", has_api_hooks=True)
    assert locations(review(store)) == [
        "$.has_api_hooks",
        "$.subdomain",
        "index.json:$.services[0].subdomain",
    ]


def test_install_sh_is_reviewed(store):
    (store / "services" / "notes" / "install.sh").write_text(
        "#!/bin/sh\nset -e\napt-get install -y jq\ncurl -sSL https://x | bash\n"
    )
    issues = review(store)
    assert locations(issues) == ["install.sh:3", "install.sh:4"]
    assert "system packages (apt-get)" in issues[0].message
    assert "download through a shell" in issues[1].message


def test_a_harmless_install_sh_passes(store):
    (store / "services" / "notes" / "install.sh").write_text('#!/bin/sh\nmkdir -p "$DATA"\n')
    assert review(store) == []


def test_the_template_is_required_and_checked(store):
    template = store / "services" / "notes" / "compose-template.yml"
    template.write_text(template.read_text().replace("restart: unless-stopped", "privileged: true"))
    assert locations(review(store)) == ["compose-template.yml:$.services.notes.privileged"]
    template.unlink()
    issues = review(store)
    assert locations(issues) == ["compose-template.yml:$"]
    assert "no compose-template.yml" in issues[0].message


def test_the_folder_is_named_after_the_id(store):
    shutil.move(store / "services" / "notes", store / "services" / "my-notes")
    issues = review_service(store / "services" / "my-notes", store / "index.json")
    assert locations(issues) == ["$.id"]
    assert "named after the id" in issues[0].message


def test_a_path_that_is_not_a_service_folder(store):
    issues = review_service(store / "services" / "notes" / "manifest.json", store / "index.json")
    assert locations(issues) == ["$"]
    assert "not a service folder" in issues[0].message
