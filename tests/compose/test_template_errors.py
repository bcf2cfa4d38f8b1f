import pytest

from shared.compose import check_template, render_compose
from shared.errors import RenderError
from tests.compose.helpers import TEMPLATE, context, notes_manifest, one_service, plain_manifest
from tests.manifest.helpers import NOTES_DIR

NOTES_TEMPLATE_PATH = NOTES_DIR / "compose-template.yml"

pytestmark = pytest.mark.unit

BOMB = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(8)
)


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("services: [unclosed", ["not valid YAML"]),
        ("- a\n- b\n", ["YAML mapping"]),
        ("", ["YAML mapping"]),
        ("volumes: {}\n", ["services mapping"]),
        ("services: {}\n", ["at least one service"]),
        ("services: [a, b]\n", ["services mapping"]),
        ("services:\n  app: nginx\n", ["a service must be a mapping"]),
        (
            "services:\n  notes:\n    container_name: cell-notes\n",
            ["needs an image", "$.services.notes.image"],
        ),
        ("services:\n  app:\n    image: 5\n    container_name: cell-notes\n", ["needs an image"]),
        ("services:\n  a:\n    image: x\n    image: y\n", ["appears twice"]),
        ("services: {}\n---\nservices: {}\n", ["not valid YAML"]),
        ("services: !!python/object/apply:os.system ['id']\n", ["not valid YAML"]),
        ("x: 2024-13-45\n", ["cannot read"]),
        ("[" * 5000 + "]" * 5000, ["nested too deeply"]),
        (BOMB, ["expands to more than"]),
        ("x: '" + "a" * 300_000 + "'\n", ["larger than"]),
        (one_service("") + "volumes: [a]\n", ["volumes must be a mapping"]),
        (
            "services:\n  notes:\n    image: git.pic.ngo/roof/x:1\n",
            ["exactly one service must have container_name: cell-notes"],
        ),
    ],
)
def test_template_errors_are_render_errors(template, words):
    with pytest.raises(RenderError) as caught:
        render_compose(template, plain_manifest(), context())
    for word in words:
        assert word in caught.value.message


def test_backends_and_backups_must_be_containers_of_the_template():
    manifest = notes_manifest(extra_subdomains=["dav"], extra_backends=["cell-notes-dav:80"])
    with pytest.raises(RenderError, match="cell-notes-dav, which no service"):
        render_compose(TEMPLATE, manifest, context())


def test_check_template_reports_issues_for_the_template_file():
    assert check_template(TEMPLATE, notes_manifest()) == []
    issues = check_template(one_service("labels:\n  x: ${PIC_NOPE}"), plain_manifest())
    assert [(i.file, i.path) for i in issues] == [
        ("compose-template.yml", "$.services.notes.labels.x")
    ]


def test_check_template_needs_no_admin_values():
    manifest = plain_manifest(
        has_admin_config=True,
        config_schema=[
            {"key": "n", "type": "int", "label": "N", "required": True, "min": 5},
            {"key": "s", "type": "secret", "label": "S", "required": True, "pattern": "[0-9]+"},
        ],
    )
    assert (
        check_template(one_service("labels:\n  n: ${PIC_CFG_N}\n  s: ${PIC_CFG_S}"), manifest) == []
    )


def test_check_template_file(tmp_path):
    from shared.compose import check_template_file

    assert check_template_file(NOTES_TEMPLATE_PATH, notes_manifest()) == []
    issues = check_template_file(tmp_path, notes_manifest())
    assert [(i.file, i.path) for i in issues] == [("compose-template.yml", "$")]
    assert "cannot read the template" in issues[0].message
    big = tmp_path / "big.yml"
    big.write_text("x: '" + "a" * 1_000_000 + "'\n")
    assert "larger than 256 KiB" in check_template_file(big, notes_manifest())[0].message
