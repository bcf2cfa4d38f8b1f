import pytest

from shared.manifest import ValidationOptions, parse_image_ref, split_image_ref
from tests.manifest.helpers import issues_of, minimal, only_issue_at

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "image",
    [
        "git.pic.ngo/roof/pic-notes:latest",
        "git.pic.ngo/roof/pic-notes:1.0.0",
        f"git.pic.ngo/roof/pic-notes@{DIGEST}",
        f"git.pic.ngo/roof/pic-notes:1.0.0@{DIGEST}",
        "git.pic.ngo/roof/group/pic_notes.x:v1",
    ],
)
def test_store_images_pass(image):
    assert issues_of(minimal(image=image)) == []


@pytest.mark.parametrize(
    ("image", "word"),
    [
        ("git.pic.ngo/roofer/x:1", "store registry"),
        ("git.pic.ngo.evil.com/roof/x:1", "store registry"),
        ("docker.io/library/nginx:1", "store registry"),
        ("nginx:latest", "store registry"),
        ("git.pic.ngo/roof/:1", "invalid repository"),
        ("git.pic.ngo/roof/../x:1", "invalid repository"),
        ("git.pic.ngo/roof/Notes:1", "invalid repository"),
        ("git.pic.ngo/roof/notes", "tag"),
        ("git.pic.ngo/roof/notes:", "invalid tag"),
        ("git.pic.ngo/roof/notes:bad tag", "invalid tag"),
        ("git.pic.ngo/roof/notes@sha256:" + "a" * 63, "64 lowercase hex"),
        ("git.pic.ngo/roof/notes@sha256:" + "A" * 64, "64 lowercase hex"),
        ("git.pic.ngo/roof/notes@md5:" + "a" * 64, "64 lowercase hex"),
        (f"git.pic.ngo/roof/notes@{DIGEST}@{DIGEST}", "more than one"),
        ("git.pic.ngo/roof/" + "a" * 600 + ":1", "longer than"),
    ],
)
def test_images_outside_the_rules_are_rejected(image, word):
    only_issue_at(minimal(image=image), "$.image", word)


def test_the_allowed_registry_is_configurable():
    local = ValidationOptions(allowed_registry="127.0.0.1:5000/roof/")
    assert issues_of(minimal(image="127.0.0.1:5000/roof/pic-notes:1"), local) == []
    assert [i.path for i in issues_of(minimal(), local)] == ["$.image"]
    no_slash = ValidationOptions(allowed_registry="127.0.0.1:5000/roof")
    assert [i.path for i in issues_of(minimal(image="127.0.0.1:5000/roofer/x:1"), no_slash)] == [
        "$.image"
    ]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("git.pic.ngo/roof/a:1", ("git.pic.ngo/roof/a", "1", None)),
        (f"git.pic.ngo/roof/a@{DIGEST}", ("git.pic.ngo/roof/a", None, DIGEST)),
        (f"git.pic.ngo/roof/a:1@{DIGEST}", ("git.pic.ngo/roof/a", "1", DIGEST)),
        ("127.0.0.1:5000/roof/a", ("127.0.0.1:5000/roof/a", None, None)),
        ("127.0.0.1:5000/roof/a:2", ("127.0.0.1:5000/roof/a", "2", None)),
    ],
)
def test_split_image_ref(text, parts):
    assert split_image_ref(text) == parts


def test_parse_image_ref_round_trips():
    ref = parse_image_ref(f"git.pic.ngo/roof/a:1@{DIGEST}", "git.pic.ngo/roof/")
    assert (ref.repository, ref.tag, ref.digest) == ("git.pic.ngo/roof/a", "1", DIGEST)
    assert str(ref) == f"git.pic.ngo/roof/a:1@{DIGEST}"
    with pytest.raises(ValueError, match="store registry"):
        parse_image_ref("docker.io/a:1", "git.pic.ngo/roof/")
