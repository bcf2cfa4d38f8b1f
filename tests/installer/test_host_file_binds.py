"""The host's time-zone files bound read-only are not folders the installer makes or checks;
bound read-write they stay in the host check, which refuses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.installer.host_folders import BindEscapeError, prepare_host_folders
from services.installer.project import Project

pytestmark = pytest.mark.unit


def project(read_only: bool, own: Path) -> Project:
    mounts = [
        {"type": "bind", "source": "/etc/localtime", "target": "/etc/localtime"},
        {"type": "bind", "source": str(own / "data"), "target": "/data"},
    ]
    mounts[0]["read_only"] = read_only
    return Project("tz", {"services": {"app": {"image": "x", "volumes": mounts}}})


def test_a_read_only_time_zone_bind_is_no_folder_to_make(tmp_path: Path) -> None:
    own = tmp_path / "data" / "tz"
    sources = project(True, own).bind_sources
    assert sources == [str(own / "data")]
    prepare_host_folders(tmp_path / "data", "tz", sources)
    assert (own / "data").is_dir()


def test_a_writable_time_zone_bind_is_refused_by_the_host_check(tmp_path: Path) -> None:
    own = tmp_path / "data" / "tz"
    sources = project(False, own).bind_sources
    assert "/etc/localtime" in sources
    with pytest.raises(BindEscapeError):
        prepare_host_folders(tmp_path / "data", "tz", sources)
