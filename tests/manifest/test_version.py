import pytest

from shared.manifest import parse_version

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0", "1.0.1"),
        ("1.0.9", "1.0.10"),
        ("1.9.0", "1.10.0"),
        ("1.0.0-rc.1", "1.0.0"),
        ("1.0.0-alpha", "1.0.0-alpha.1"),
        ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
        ("1.0.0-beta.2", "1.0.0-beta.11"),
        ("1.0.0-rc.1", "1.0.0-rc.2"),
        ("0.9.9", "1.0.0"),
    ],
)
def test_versions_compare_by_semver_precedence(lower, higher):
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(higher) > parse_version(lower)


def test_build_metadata_does_not_count():
    assert parse_version("1.0.0+a") == parse_version("1.0.0+b")
    assert str(parse_version("1.2.3-rc.1+b.5")) == "1.2.3-rc.1+b.5"


@pytest.mark.parametrize(
    "text", ["1", "1.0", "1.0.0.0", "v1.0.0", "1.0.0-", "1.0.0-rc..1", " 1.0.0", "x" * 100]
)
def test_non_semver_is_refused(text):
    with pytest.raises(ValueError, match="semantic version"):
        parse_version(text)
