from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.oci import InvalidReferenceError, Repository, parse_reference, referrers_tag
from shared.oci.reference import ImageReference

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "registry", "name", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", None, None),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
        ("docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("roof/app:v1", "docker.io", "roof/app", "v1", None),
        ("git.pic.ngo/roof/app:1.0", "git.pic.ngo", "roof/app", "1.0", None),
        ("127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", None, None),
        ("localhost/app", "localhost", "app", None, None),
        (f"localhost:5000/app:v2@{DIGEST}", "localhost:5000", "app", "v2", DIGEST),
        (f"git.pic.ngo/roof/app@{DIGEST}", "git.pic.ngo", "roof/app", None, DIGEST),
        ("[::1]:5000/app", "[::1]:5000", "app", None, None),
    ],
)
def test_parse(text: str, registry: str, name: str, tag: str | None, digest: str | None):
    ref = parse_reference(text)
    assert ref == ImageReference(Repository(registry, name), tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " busybox",
        "UPPER/case",
        "app@sha256:short",
        f"app@sha512:{'0' * 128}",
        "app:",
        "app:-bad",
        "a//b",
        "host:99999999/app",
        "app@" + DIGEST.upper(),
        "x" * 2000,
    ],
)
def test_invalid(text: str):
    with pytest.raises(InvalidReferenceError):
        parse_reference(text)


def test_docker_hub_api_host_and_strings():
    ref = parse_reference(f"busybox@{DIGEST}")
    assert ref.repository.api_host == "registry-1.docker.io"
    assert str(ref) == f"docker.io/library/busybox@{DIGEST}"
    assert ref.reference == DIGEST
    assert parse_reference("busybox").reference == "latest"


def test_referrers_tag():
    assert referrers_tag(DIGEST) == DIGEST.replace(":", "-")


names = st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(names, tags)
def test_round_trip(name: str, tag: str):
    ref = parse_reference(f"registry.example:443/{name}:{tag}@{DIGEST}")
    assert parse_reference(str(ref)) == ref
