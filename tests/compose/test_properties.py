"""Any template text gives a Compose file or a RenderError, never another exception."""

import contextlib

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.compose import check_template, render_compose
from shared.errors import RenderError
from tests.compose.helpers import TEMPLATE, context, notes_manifest, plain_manifest

pytestmark = pytest.mark.unit

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FRAGMENTS = st.sampled_from(
    [
        "services:",
        "\n",
        "  ",
        "notes:",
        "image: x",
        "container_name: cell-notes",
        "- ",
        "${PIC_DOMAIN}",
        "${PIC_SECRET_A}",
        "$$",
        "$",
        "{",
        "}",
        "[",
        "]",
        "&a",
        "*a",
        "!!str",
        "---",
        "'",
        '"',
        ":",
        "#",
        "volumes:",
        "networks:",
        "environment:",
        "privileged: true",
        "null",
        "1",
        "true",
        "<<: *a",
    ]
)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
trees = st.recursive(
    scalars | st.sampled_from(["${PIC_DOMAIN}", "${PIC_NOPE}", "$x", "cell-notes", "/etc:/x"]),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.text(max_size=8)
            | st.sampled_from(
                [
                    "services",
                    "image",
                    "container_name",
                    "volumes",
                    "networks",
                    "environment",
                    "notes",
                ]
            ),
            c,
            max_size=4,
        )
    ),
    max_leaves=25,
)


def attempt(text):
    try:
        result = render_compose(text, plain_manifest(), context())
    except RenderError:
        return None
    assert yaml.safe_load(result.yaml_text) == result.document
    return result


@FAST
@given(st.lists(FRAGMENTS, max_size=30).map("".join))
def test_fragment_soup(text):
    attempt(text)
    for issue in check_template(text, plain_manifest()):
        assert issue.file == "compose-template.yml"
        assert issue.path.startswith("$")


@FAST
@given(trees)
def test_arbitrary_yaml_trees(tree):
    attempt(yaml.safe_dump(tree))
    attempt(yaml.safe_dump({"services": {"notes": tree}}))
    attempt(
        yaml.safe_dump(
            {
                "services": {
                    "notes": {
                        "image": "git.pic.ngo/roof/x:1",
                        "container_name": "cell-notes",
                        "labels": tree,
                    }
                }
            }
        )
    )


@FAST
@given(st.integers(min_value=0, max_value=len(TEMPLATE)), st.text(max_size=5))
def test_the_example_template_with_one_edit(position, inserted):
    text = TEMPLATE[:position] + inserted + TEMPLATE[position:]
    with contextlib.suppress(RenderError):
        render_compose(text, notes_manifest(), context())
