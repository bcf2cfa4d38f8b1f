"""Helpers of the store-fetch tests: a copy of the example store, a folder outside it, and
fetch calls that return the service or the refusal's message."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from services.installer.store import FetchedService, StoreError, fetch_service
from tests.manifest.helpers import REPO

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
