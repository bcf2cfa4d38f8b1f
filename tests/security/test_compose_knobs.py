"""Issue #19, finding 3a and smaller items: Compose knobs that reach past the container,
judged on the canonical form real `docker compose config` gives (what validate, review and
the installer all judge)."""

from __future__ import annotations

import pytest

from shared.compose import check_template
from shared.manifest import parse_manifest
from tests.manifest.helpers import minimal

pytestmark = pytest.mark.unit

HEAD = "services:\n  notes:\n    image: git.pic.ngo/roof/x:1\n    container_name: cell-notes\n"


def _issues(body: str, tail: str = "") -> dict[str, str]:
    issues = check_template(HEAD + body + tail, parse_manifest(minimal()))
    return {i.path: i.message for i in issues}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ("    ulimits: {rtprio: 99}\n", "$.services.notes.ulimits.rtprio"),
        ("    ulimits: {nice: {soft: 40, hard: 40}}\n", "$.services.notes.ulimits.nice"),
        (
            "    ulimits: {nofile: 1024, rtprio: {soft: 1, hard: 99}}\n",
            "$.services.notes.ulimits.rtprio",
        ),
    ],
)
def test_a_service_cannot_raise_its_scheduling_above_the_hosts(body: str, path: str) -> None:
    """Real-time priority or a negative nice would let a container starve the host."""
    issues = _issues(body)
    assert list(issues) == [path], issues
    assert "starve the host" in issues[path]


def test_ordinary_ulimits_stay_allowed() -> None:
    assert _issues("    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n") == {}


@pytest.mark.parametrize("subpath", ["../other", "a/../../x", "/etc"])
def test_a_volume_subpath_cannot_leave_its_volume(subpath: str) -> None:
    body = (
        "    volumes:\n      - type: volume\n        source: data\n        target: /x\n"
        f"        volume: {{subpath: '{subpath}'}}\n"
    )
    issues = _issues(body, "volumes:\n  data: {}\n")
    where = "$.services.notes.volumes[0].volume.subpath"
    assert where in issues, issues
    assert "inside the volume" in issues[where]


def test_a_volume_subpath_inside_the_volume_is_allowed() -> None:
    body = (
        "    volumes:\n      - type: volume\n        source: data\n        target: /x\n"
        "        volume: {subpath: uploads/photos}\n"
    )
    assert _issues(body, "volumes:\n  data: {}\n") == {}


@pytest.mark.parametrize(
    "label", ["com.docker.compose.project", "com.docker.compose.volume", "ngo.pic.store.service"]
)
def test_a_named_volume_cannot_wear_the_cells_labels(label: str) -> None:
    """Labels say whose a volume is (backup, remove); a template cannot claim another's."""
    issues = _issues(
        "    volumes: ['data:/x']\n", f"volumes:\n  data:\n    labels: {{{label}: other}}\n"
    )
    where = f'$.volumes.data.labels["{label}"]'
    assert where in issues, issues
    assert "belong to the cell" in issues[where]


def test_a_named_volume_may_have_its_own_labels() -> None:
    assert (
        _issues("    volumes: ['data:/x']\n", "volumes:\n  data:\n    labels: {org.x: y}\n") == {}
    )
