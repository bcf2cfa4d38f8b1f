"""Fetching a service from a store, without Docker or NATS: symlinks and special files,
the index entry's path, credentials in URLs, the manifest loader, and local stores."""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from app.cli.commands.up import _first_config
from services.installer import store as store_module
from services.installer.store import (
    MAX_FILE_BYTES,
    FetchedService,
    StoreError,
    StoreKind,
    fetch_service,
    mask_url,
    store_kind,
)
from shared.config import CellConfig
from shared.manifest import ManifestInvalidError, validate_manifest_file
from shared.manifest.load import parse_json_text
from tests.manifest.helpers import REPO

pytestmark = pytest.mark.unit

EXAMPLE_STORE = REPO / "examples" / "store"
TOKEN_URL = "https://user:tok3n@127.0.0.1:9/x.git"  # loopback, nothing listens on port 9


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(EXAMPLE_STORE, root)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the store holding a valid copy of everything, so that only the
    symlink rule (not a missing or broken file) can refuse a fetch through it."""
    folder = tmp_path / "outside"
    shutil.copytree(EXAMPLE_STORE, folder)
    return folder


def fetch(root: Path | str, service_id: str = "notes", allow_local: bool = True) -> FetchedService:
    return asyncio.run(fetch_service(str(root), service_id, allow_local))


async def afetch(
    root: Path | str, service_id: str = "notes", allow_local: bool = True
) -> FetchedService:
    return await asyncio.wait_for(fetch_service(str(root), service_id, allow_local), 20)


def refused(root: Path | str, service_id: str = "notes", allow_local: bool = True) -> str:
    with pytest.raises(StoreError) as caught:
        fetch(root, service_id, allow_local)
    return caught.value.message


def replace_with_link(path: Path, target: Path | str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    path.symlink_to(target)


def set_index(root: Path, **entry: object) -> None:
    index = json.loads((root / "index.json").read_text())
    index["services"][0].update(entry)
    (root / "index.json").write_text(json.dumps(index))


# --- 1. symlinks stay in the store; only regular files are read ---------------------------


def test_the_example_store_is_fetched(store: Path) -> None:
    fetched = fetch(store)
    assert fetched.service_id == "notes"
    assert fetched.manifest_data == json.loads((store / "services/notes/manifest.json").read_text())
    assert fetched.template_text == (store / "services/notes/compose-template.yml").read_text()
    assert fetched.index_entry["path"] == "services/notes"
    assert fetched.source == str(store)


@pytest.mark.parametrize(
    "relative",
    ["index.json", "services/notes/manifest.json", "services/notes/compose-template.yml"],
)
def test_a_file_symlinked_outside_the_store_is_refused(
    store: Path, outside: Path, relative: str
) -> None:
    replace_with_link(store / relative, outside / relative)
    message = refused(store)
    assert relative in message
    assert "symlink pointing outside the store" in message


def test_a_template_linked_to_etc_passwd_is_refused(store: Path) -> None:
    replace_with_link(store / "services/notes/compose-template.yml", "/etc/passwd")
    message = refused(store)
    assert "services/notes/compose-template.yml" in message and "outside" in message
    assert "root:" not in message


def test_index_json_linked_to_etc_passwd_is_refused(store: Path) -> None:
    replace_with_link(store / "index.json", "/etc/passwd")
    assert refused(store) == "index.json in the store is a symlink pointing outside the store"


@pytest.mark.parametrize(
    ("folder", "why"),
    [
        ("services", "leads outside the store: services is a symlink pointing outside it"),
        ("services/notes", "is a symlink pointing outside the store"),
    ],
)
def test_a_folder_on_the_way_symlinked_outside_is_refused(
    store: Path, outside: Path, folder: str, why: str
) -> None:
    replace_with_link(store / folder, outside / folder)
    assert refused(store) == (
        f"the folder services/notes of the index entry 'notes' in the store {why}"
    )


def test_a_folder_on_the_way_is_named_when_the_entry_has_no_path(
    store: Path, outside: Path
) -> None:
    index = json.loads((store / "index.json").read_text())
    del index["services"][0]["path"]
    (store / "index.json").write_text(json.dumps(index))
    replace_with_link(store / "services", outside / "services")
    assert "services is a symlink pointing outside it" in refused(store)


def test_a_relative_link_climbing_out_is_refused(store: Path, outside: Path) -> None:
    replace_with_link(
        store / "services/notes/manifest.json", "../../../outside/services/notes/manifest.json"
    )
    assert "services/notes/manifest.json in the store is a symlink" in refused(store)


def test_symlinks_that_stay_inside_the_store_are_followed(store: Path) -> None:
    shutil.move(store / "services/notes", store / "real-notes")
    (store / "services/notes").symlink_to("../real-notes")
    shared = store / "shared"
    shared.mkdir()
    shutil.move(store / "real-notes/manifest.json", shared / "manifest.json")
    (store / "real-notes/manifest.json").symlink_to(shared / "manifest.json")  # absolute, inside
    assert fetch(store).manifest_data["id"] == "notes"  # type: ignore[index]


def test_a_store_root_reached_through_a_symlink_is_fine(store: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-store"
    link.symlink_to(store)
    assert fetch(link).service_id == "notes"


def test_a_symlink_loop_is_refused(store: Path) -> None:
    replace_with_link(store / "services/notes/manifest.json", "loop")
    (store / "services/notes/loop").symlink_to("manifest.json")
    assert "services/notes/manifest.json" in refused(store)


async def test_a_fifo_is_refused_without_blocking(store: Path) -> None:
    manifest = store / "services/notes/manifest.json"
    manifest.unlink()
    os.mkfifo(manifest)
    with pytest.raises(StoreError) as caught:
        await afetch(store)
    assert caught.value.message == (
        "services/notes/manifest.json in the store is a FIFO, not a regular file"
    )


def test_a_folder_where_a_file_should_be_is_refused(store: Path) -> None:
    template = store / "services/notes/compose-template.yml"
    template.unlink()
    template.mkdir()
    assert "compose-template.yml in the store is a folder, not a regular file" in refused(store)


def test_a_file_over_the_limit_is_refused(store: Path) -> None:
    (store / "services/notes/compose-template.yml").write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert "larger than 1024 KiB" in refused(store)


def test_a_missing_file_is_named(store: Path) -> None:
    (store / "services/notes/compose-template.yml").unlink()
    assert refused(store) == "the store has no services/notes/compose-template.yml"


# --- 2. the index entry's path ------------------------------------------------------------


def test_the_entry_path_is_honoured(store: Path) -> None:
    shutil.move(store / "services/notes", store / "apps")
    set_index(store, path="apps")
    fetched = fetch(store)
    assert fetched.manifest_data["id"] == "notes"  # type: ignore[index]


def test_without_a_path_the_folder_is_services_id(store: Path) -> None:
    index = json.loads((store / "index.json").read_text())
    del index["services"][0]["path"]
    (store / "index.json").write_text(json.dumps(index))
    assert fetch(store).service_id == "notes"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside/services/notes", "must not contain .."),
        ("services/../../outside/services/notes", "must not contain .."),
        ("/etc", "must be a relative path"),
        ("", "must not be empty"),
        (".", "must name something below its root"),
        (5, "not text"),
    ],
)
def test_a_bad_entry_path_is_refused_naming_the_entry(
    store: Path, outside: Path, path: object, why: str
) -> None:
    set_index(store, path=path)
    message = refused(store)
    assert "the index entry 'notes'" in message and why in message


def test_an_entry_path_symlinked_outside_is_refused_naming_the_entry(
    store: Path, outside: Path
) -> None:
    (store / "elsewhere").symlink_to(outside / "services" / "notes")
    set_index(store, path="elsewhere")
    assert refused(store) == (
        "the folder elsewhere of the index entry 'notes' in the store "
        "is a symlink pointing outside the store"
    )


def test_an_entry_path_that_is_not_a_folder_is_refused(store: Path) -> None:
    set_index(store, path="index.json")
    assert refused(store) == "the store has no folder index.json for the index entry 'notes'"


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
