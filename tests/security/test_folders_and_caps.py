"""Issue #19, finding 2: a setuid file or a device node a container makes in its folders
must not reach local users. The folders pic-store makes under the data dir are 0700, and
rendered containers drop MKNOD and NET_RAW unless the template asks for them (review names
it when it does)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from shared.client import StoreClient
from tests.installer.helpers import install, service_id
from tests.manifest.helpers import REPO
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

NOBODY = 65534
# Run as a local user with no rights here; it is handed a handle on the folder, as if every
# folder above it were open to it, and tries to list the folder and to enter it.
_TRY = """
import os, sys
fd = int(sys.argv[1])
for attempt in (
    lambda: os.close(os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)),
    lambda: os.fchdir(fd),
):
    try:
        attempt()
        print("allowed")
    except PermissionError:
        print("denied")
"""


def in_container(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    """A busybox command in the container, as its root user; its result, failed or not."""
    return subprocess.run(
        ["docker", "exec", container, "busybox", *command],
        capture_output=True,
        text=True,
        check=False,
    )


def as_nobody(code: str, *args: str, fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Python code run by the local user `nobody`, which has no rights here."""
    return subprocess.run(
        ["/usr/bin/python3", "-I", "-c", code, *args],
        pass_fds=fds,
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )


def local_user_tries(folder: Path) -> list[str]:
    """[listing, entering] `folder` as the local user `nobody`: "allowed" or "denied"."""
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        done = as_nobody(_TRY, str(fd), fds=(fd,))
    finally:
        os.close(fd)
    return done.stdout.split()


async def _installed_with_uploads(
    client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> str:
    """A web service with a bind folder `uploads` at /data/up, installed; its id."""
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    template = web_template(manifest) + f"      - ${{PIC_DATA_DIR}}/{sid}/uploads:/data/up\n"
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    return sid


@pytest.mark.integration
@pytest.mark.slow
async def test_a_service_container_cannot_make_devices_or_open_raw_sockets(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = await _installed_with_uploads(client, tmp_path, images, stack_factory)
    container = f"cell-{sid}"

    made = in_container(container, "mknod", "/data/up/disk", "b", "8", "0")
    assert made.returncode != 0 and "Operation not permitted" in made.stderr
    assert not (stack.data_dir / "data" / sid / "uploads" / "disk").exists()
    raw = in_container(container, "arping", "-c", "1", "-w", "1", "172.20.0.1")
    assert raw.returncode != 0 and "Operation not permitted" in raw.stderr, raw.stderr
    # Root in the container still owns what it needs for its files.
    docker("exec", container, "busybox", "touch", "/data/up/note")


@pytest.mark.integration
@pytest.mark.slow
async def test_a_local_user_cannot_enter_the_folders_of_a_service(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = await _installed_with_uploads(client, tmp_path, images, stack_factory)
    data = stack.data_dir / "data"
    for folder in (data, data / sid, stack.data_dir / "services" / sid):
        assert local_user_tries(folder) == ["denied", "denied"], folder
        assert folder.stat().st_uid == 0
    # The setuid copy of a shell a container leaves in its folder is out of every local
    # user's reach: they cannot even look at it.
    docker("exec", f"cell-{sid}", "busybox", "cp", "/bin/busybox", "/data/up/sh")
    docker("exec", f"cell-{sid}", "busybox", "chmod", "4755", "/data/up/sh")
    looked = as_nobody("import os, sys; os.stat(sys.argv[1])", str(data / sid / "uploads" / "sh"))
    assert "PermissionError" in looked.stderr, looked.stderr


@pytest.mark.unit
@pytest.mark.parametrize("cap", ["MKNOD", "cap_net_raw"])
def test_review_names_a_template_that_keeps_mknod_or_net_raw(
    cap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The service still passes review (Docker gives both by default); the reviewer sees it."""
    store = tmp_path / "store"
    shutil.copytree(REPO / "examples" / "store", store)
    template = store / "services" / "notes" / "compose-template.yml"
    text = template.read_text().replace(
        "    init: true\n", f"    init: true\n    cap_add: [{cap}]\n"
    )
    template.write_text(text)
    assert main(["review", str(template.parent), "--index", str(store / "index.json")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, notes
    assert ".cap_add[0]: keeps " in notes[0]
    assert cap.upper().removeprefix("CAP_") in notes[0]
