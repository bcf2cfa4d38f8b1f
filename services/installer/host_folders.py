"""The host folders of a service, made right before every `docker compose up`.

`${PIC_DATA_DIR}` (the installer's `data/`) and each service's own folder in it belong to
pic-store, mode 0700: no local user walks into them, to a setuid file or a device node a
container left there. No container mounts the service's own folder; each bind folder in it
(`${PIC_DATA_DIR}/<id>/<name>`, one level, shared/compose/binds.py) is made here as a real
folder, and a symlink or a file in its place is refused: Docker follows the source path on
the host at every start, so nothing a container can write is ever on that path.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from services.installer.project import Project
from shared.compose.binds import bind_problem
from shared.docker.compose import ComposeRejected, canonical_config
from shared.errors import OperationError
from shared.manifest import normalise_absolute

PRIVATE = 0o700
# A bind folder: the container's files, inside a folder only pic-store may enter.
BIND_FOLDER = 0o755


class BindEscapeError(OperationError):
    """A bind folder is a symlink or a file on the host, or not directly in the service's folder."""

    key = "bind_outside_own_folder"


def private_folder(path: Path, link_allowed: bool = False) -> None:
    """`path` a folder of this process's user, mode 0700 (made when missing); a symlink
    only where the admin may have put one (`link_allowed`: the data root on another disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # a file or a dangling link: judged below
        path.mkdir(mode=PRIVATE, exist_ok=True)
    info = path.lstat()
    if link_allowed and stat.S_ISLNK(info.st_mode) and path.is_dir():
        info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise BindEscapeError(f"{path} must be a folder of pic-store's, and is {_what(path)}")
    if info.st_uid != os.geteuid() or info.st_gid != os.getegid():
        os.chown(path, os.geteuid(), os.getegid())
    if stat.S_IMODE(info.st_mode) != PRIVATE:
        os.chmod(path, PRIVATE)


def prepare_host_folders(data_root: Path, service_id: str, bind_sources: list[str]) -> None:
    """The data root and the service's own folder private, and each bind folder a real
    folder directly in it; BindEscapeError naming the bind when one cannot be."""
    private_folder(data_root, link_allowed=True)
    own = data_root / service_id
    private_folder(own)
    for source in bind_sources:
        # The render judged the sources against the same folder, written the same way.
        problem = bind_problem(source, normalise_absolute(str(own)), service_id)
        if problem:  # a file the policy of its day let through (an older install)
            raise BindEscapeError(problem)
        folder = Path(source)
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=BIND_FOLDER)
        if not stat.S_ISDIR(folder.lstat().st_mode):
            raise BindEscapeError(
                f"the bind mount ${{PIC_DATA_DIR}}/{service_id}/{folder.name} is "
                f"{_what(folder)} on the host ({folder}), not a real folder: remove it, and "
                "pic-store makes the folder itself at the next start"
            )


def prepare_for_file(data_root: Path, service_id: str, compose_file: Path) -> None:
    """prepare_host_folders for the binds of a rendered file (a restart by reconcile)."""
    try:
        text = compose_file.read_text()
        canonical = canonical_config(text, service_id, str(data_root / service_id))
    except (OSError, ComposeRejected) as exc:
        raise OperationError(f"cannot read the compose file {compose_file}: {exc}") from exc
    prepare_host_folders(data_root, service_id, Project(service_id, canonical).bind_sources)


def _what(path: Path) -> str:
    if path.is_symlink():
        return f"a symlink to {os.readlink(path)}"
    return "a file"
