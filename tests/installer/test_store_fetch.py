"""Fetching a service from a store folder, without Docker or NATS: symlinks and special
files stay in the store, and the index entry's path."""

import json
import os
import shutil
from pathlib import Path

import pytest

from services.installer.store import (
    MAX_FILE_BYTES,
    StoreError,
)
from tests.installer.store_parts import (
    afetch,
    fetch,
    outside,
    refused,
    replace_with_link,
    set_index,
    store,
)

__all__ = ["outside", "store"]  # fixtures
pytestmark = pytest.mark.unit


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
