"""Any input gives issues, never an exception: arbitrary JSON, and mutations of a valid
manifest (a value replaced, a key removed or added, at any depth)."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.manifest import Issue, validate_manifest
from shared.manifest.config_schema import validate_config_values
from shared.manifest.model import ConfigField
from tests.manifest.helpers import minimal, notes

pytestmark = pytest.mark.unit

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        ["${PIC_DOMAIN}", "${PIC_CFG_THEME}", "{domain}", "/etc", "../x", "ACCEPT", "cell-notes:80"]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def assert_well_formed(issues):
    assert isinstance(issues, list)
    for issue in issues:
        assert isinstance(issue, Issue)
        assert issue.path.startswith("$")
        assert isinstance(issue.message, str)
        assert issue.message
        assert len(issue.message) < 1200
        issue.to_dict()


@FAST
@given(json_values)
def test_any_json_value_gives_issues_not_exceptions(data):
    issues = validate_manifest(data)
    assert_well_formed(issues)
    assert issues  # nothing random is a valid manifest


@FAST
@given(
    st.dictionaries(
        st.sampled_from(sorted(notes())) | st.text(max_size=10), json_values, max_size=12
    )
)
def test_objects_with_manifest_keys_and_random_values(data):
    assert_well_formed(validate_manifest(data))


def paths_of(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths_of(value, (*prefix, index))


ALL_PATHS = [p for p in paths_of(notes()) if p]


def mutate(data, path, action, value):
    target = data
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if action == "replace":
        target[last] = value
    elif action == "delete":
        del target[last]
    elif isinstance(target[last], dict):
        target[last]["extra_field"] = value
    elif isinstance(target[last], list):
        target[last].append(value)
    else:
        target[last] = [target[last], value]
    return data


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete", "add"]), json_values
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutations_of_a_valid_manifest_never_raise(mutations):
    data = notes()
    for path, action, value in mutations:
        try:
            mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    assert_well_formed(validate_manifest(data))


@FAST
@given(st.sampled_from(ALL_PATHS))
def test_every_value_of_the_example_matters_to_its_own_path_only(path):
    data = mutate(notes(), path, "replace", {"unexpected": ["object"]})
    issues = validate_manifest(data)
    assert issues, path


def test_huge_and_deep_values_are_fine():
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    data = minimal(
        id="x" * 10_000_000, env=deep, volumes=[{"name": "v", "mount": "/" + "a" * 1_000_000}]
    )
    data["n" * 100_000] = deep
    issues = validate_manifest(data)
    assert_well_formed(issues)
    assert {i.path for i in issues} >= {"$.id", "$.env[0]", "$.volumes[0].mount"}


def test_huge_ints_and_nan_are_described_safely():
    issues = validate_manifest(minimal(schema_version=10**5000, name=float("nan")))
    assert {i.path: i.message for i in issues} == {
        "$.schema_version": "must be 3 (this is manifest schema v3), got a very large number",
        "$.name": "must be text, got the number NaN",
    }


FIELDS = [
    ConfigField(key="n", type="int", label="N", default=1, min=0, max=9),
    ConfigField(key="b", type="bool", label="B"),
    ConfigField(key="s", type="secret", label="S", required=True, pattern="[a-z]+"),
]


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["n", "b", "s"]) | st.text(max_size=5), scalars | st.text(), max_size=5
    )
)
def test_config_values_never_raise_and_never_echo_secrets(values):
    typed, issues = validate_config_values(FIELDS, copy.deepcopy(values))
    secret = values.get("s")
    for issue in issues:
        assert issue.path.startswith("config")
        if isinstance(secret, str) and len(secret) > 3 and issue.path == "config.s":
            assert secret not in issue.message
    if not issues:
        assert set(typed) == {"n", "b", "s"}
