"""A Debian base keeps what runs and the copyright files, not manuals or translations."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.deploy.image import slim

pytestmark = pytest.mark.unit


def test_a_slimmed_root_keeps_programs_configuration_and_copyright(tmp_path: Path) -> None:
    files = {
        "usr/sbin/postfix": "kept",
        "usr/share/postfix/main.cf.proto": "kept",
        "usr/share/doc/postfix/copyright": "kept",
        "usr/share/doc/postfix/changelog.gz": "gone",
        "usr/share/man/man1/postfix.1.gz": "gone",
        "usr/share/locale/de/LC_MESSAGES/apt.mo": "gone",
        "usr/share/info/dir": "gone",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "usr/share/doc/libfoo").symlink_to("postfix")  # Debian links doc folders
    slim(tmp_path)
    left = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert left == {name for name, text in files.items() if text == "kept"}
