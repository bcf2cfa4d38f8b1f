"""Where a store may come from and what is shown of it: credentials in URLs never, local
stores only when the cell allows them, and the manifest read as `pic-store validate` reads it."""

import argparse
import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.cli.commands.up import _first_config
from services.installer import store as store_module
from services.installer.store import (
    StoreError,
    StoreKind,
    mask_url,
    store_kind,
)
from shared.config import CellConfig
from shared.manifest import ManifestInvalidError, validate_manifest_file
from shared.manifest.load import parse_json_text
from tests.installer.store_parts import (
    TOKEN_URL,
    afetch,
    fetch,
    outside,
    refused,
    replace_with_link,
    store,
)

__all__ = ["outside", "store"]  # fixtures
pytestmark = pytest.mark.unit


# --- 3. credentials in git URLs are never shown -------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:tok3n@host/repo.git", "https://***@host/repo.git"),
        ("https://tok3n@host/repo.git", "https://***@host/repo.git"),
        ("git+https://user:tok3n@host/repo.git", "git+https://***@host/repo.git"),
        ("ssh://git:tok3n@host:22/repo.git", "ssh://***@host:22/repo.git"),
        ("https://user:p%40ss@host/r.git?x=1", "https://***@host/r.git?x=1"),
        ("https://user:p@ss@host/r.git", "https://***@host/r.git"),
        ("https://host/@scope/repo.git", "https://host/@scope/repo.git"),
        ("https://host/repo.git", "https://host/repo.git"),
        ("git@host:org/repo.git", "git@host:org/repo.git"),
        ("/srv/store", "/srv/store"),
        (
            "fatal: 'https://u:tok3n@h/x' and 'http://a@b/'",
            "fatal: 'https://***@h/x' and 'http://***@b/'",
        ),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


async def test_a_failed_clone_never_shows_the_token() -> None:
    with capture_logs() as logs, pytest.raises(StoreError) as caught:
        await afetch(TOKEN_URL, allow_local=False)
    message = caught.value.message
    assert message.startswith("could not clone the store https://***@127.0.0.1:9/x.git: ")
    assert "tok3n" not in message
    # (structlog loggers cached by earlier tests in the session may bypass capture_logs)
    assert "tok3n" not in repr(logs)


def fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Run `script` instead of git (an older git, say, that echoes the URL as given)."""
    fake = tmp_path / "fake-git"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    real = asyncio.create_subprocess_exec

    async def exec_fake(program: str, *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        return await real(str(fake) if program == "git" else program, *args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", exec_fake)


async def test_git_stderr_echoing_the_url_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # $6 is the URL: git clone --quiet --depth 1 -- URL FOLDER
    fake_git(
        tmp_path,
        monkeypatch,
        "echo \"fatal: repository '$6' not found; "
        'credentials user:tok3n, password tok%33n" >&2\nexit 128\n',
    )
    with pytest.raises(StoreError) as caught:
        await afetch(TOKEN_URL.replace("tok3n", "tok%33n"), allow_local=False)
    message = caught.value.message
    assert "tok3n" not in message and "tok%33n" not in message
    assert "repository 'https://***@127.0.0.1:9/x.git' not found" in message


async def test_a_clone_timeout_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_git(tmp_path, monkeypatch, "exec sleep 30\n")
    monkeypatch.setattr(store_module, "GIT_TIMEOUT", 0.3)
    with pytest.raises(StoreError) as caught:
        await afetch(TOKEN_URL, allow_local=False)
    assert caught.value.message == (
        "cloning the store https://***@127.0.0.1:9/x.git took longer than 0 s"
    )


# --- 4. the manifest is parsed as `pic-store validate` parses it --------------------------


def test_a_manifest_with_a_bom_parses(store: Path) -> None:
    manifest = store / "services/notes/manifest.json"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    fetched = fetch(store)
    assert fetched.manifest_data["id"] == "notes"  # type: ignore[index]
    assert json.loads(fetched.manifest_text) == fetched.manifest_data


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "notes", "id": "other"}',
        b'{"id": "notes", "version": NaN}',
        b'{"id": "notes", "size": -Infinity}',
        b'{"id": "no\xffes"}',
        b'{"id": ',
    ],
)
def test_a_broken_manifest_gets_the_validate_message(store: Path, raw: bytes) -> None:
    manifest = store / "services/notes/manifest.json"
    manifest.write_bytes(raw)
    with pytest.raises(ManifestInvalidError) as caught:
        fetch(store)
    expected = parse_json_text(raw, "manifest.json")[1]
    assert expected and caught.value.issues == expected
    assert caught.value.issues == validate_manifest_file(manifest)[1]  # what validate prints
    assert str(caught.value) == str(ManifestInvalidError(expected))


def test_a_duplicate_key_in_the_index_is_refused(store: Path) -> None:
    (store / "index.json").write_text('{"services": [], "services": []}')
    assert refused(store) == (
        'the store\'s index.json is not valid JSON: the key "services" appears twice in one object'
    )


# --- 5. local stores only when the cell allows them --------------------------------------


@pytest.mark.parametrize(
    "local",
    [
        "{store}",
        "file://{store}",
        "git+file://{store}",
        "{store}/repo.git",
        "git+{store}",
        "relative/store",
        "FILE:///srv/x",
    ],
)
def test_local_stores_are_refused_unless_allowed(store: Path, local: str) -> None:
    message = refused(local.format(store=store), allow_local=False)
    assert '"allow_local_stores": true' in message
    assert "config/api/cell_config.json" in message


@pytest.mark.parametrize(
    ("store", "kind"),
    [
        ("https://host/repo.git", StoreKind.remote_git),
        ("https://host/repo", StoreKind.remote_git),
        ("http://127.0.0.1:8080/repo.git", StoreKind.remote_git),
        ("HTTPS://host/repo", StoreKind.remote_git),
        ("ssh://git@host/repo.git", StoreKind.remote_git),
        ("git://host/repo.git", StoreKind.remote_git),
        ("git+https://host/repo.git", StoreKind.remote_git),
        ("git+ssh://host/repo", StoreKind.remote_git),
        ("git@host:org/repo", StoreKind.remote_git),
        ("host:org/repo.git", StoreKind.remote_git),
        ("file:///srv/store", StoreKind.local_git),
        ("git+file:///srv/store", StoreKind.local_git),
        ("/srv/repo.git", StoreKind.local_git),
        ("/srv/repo.git/", StoreKind.local_git),
        ("git+/srv/repo", StoreKind.local_git),
        ("/srv/store", StoreKind.folder),
        ("./store", StoreKind.folder),
        ("a:b", StoreKind.folder),
    ],
)
def test_store_kind(store: str, kind: StoreKind) -> None:
    assert store_kind(store) is kind


@pytest.mark.parametrize(
    "store", ["ftp://host/repo.git", "ext::sh -c touch% /tmp/x.git", "fd::3/x.git"]
)
def test_other_transports_are_refused(store: str) -> None:
    with pytest.raises(StoreError, match="store"):
        store_kind(store)


def git_repo(source: Path, into: Path) -> Path:
    shutil.copytree(source, into, symlinks=True)
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(into)}
    for args in (
        ["init", "--quiet"],
        ["add", "--all"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "s"],
    ):
        subprocess.run(["git", *args], cwd=into, env=env, check=True)
    return into


def test_a_local_git_repository_is_cloned_when_allowed(store: Path, tmp_path: Path) -> None:
    repo = git_repo(store, tmp_path / "repo.git")
    for url in (f"file://{repo}", f"git+file://{repo}", str(repo)):
        assert fetch(url).manifest_data["id"] == "notes"  # type: ignore[index]


def test_a_cloned_symlink_to_etc_passwd_is_refused(store: Path, tmp_path: Path) -> None:
    replace_with_link(store / "services/notes/compose-template.yml", "/etc/passwd")
    repo = git_repo(store, tmp_path / "repo.git")
    assert "services/notes/compose-template.yml in the store is a symlink" in refused(
        f"file://{repo}"
    )


def test_the_cell_config_switch_is_off_by_default(tmp_path: Path) -> None:
    assert CellConfig().allow_local_stores is False
    field = CellConfig.model_fields["allow_local_stores"]
    assert field.description and "file://" in field.description
    CellConfig(allow_local_stores=True).write(tmp_path)
    assert CellConfig.load(tmp_path).allow_local_stores is True


def test_pic_store_up_writes_a_config_allowing_local_stores(tmp_path: Path) -> None:
    args = argparse.Namespace(data_dir=tmp_path, cell="cell", domain="cell.pic.test")
    stack = argparse.Namespace(registry="127.0.0.1:5050", dns_port=5353)
    _first_config(args, stack)  # type: ignore[arg-type]
    assert CellConfig.load(tmp_path).allow_local_stores is True
