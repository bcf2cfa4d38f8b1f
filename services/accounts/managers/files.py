"""The `files` manager: the accounts of the Files reference service (nginx with its WebDAV
modules, examples/store/services/files). Its user store is the WebDAV htpasswd file, bcrypt
entries that nginx reads on every request (a change needs no reload): the `htpasswd`
manager's file, at the path the Files image keeps it unless the manifest names another."""

from __future__ import annotations

from services.accounts.managers.base import Calls
from services.accounts.managers.htpasswd import HtpasswdManager
from services.accounts.state import Target
from shared.docker.engine import DockerEngine
from shared.manifest.const import FILES_MANAGER

FILE = "/data/users/htpasswd"  # nginx's auth_basic_user_file in the Files image (dav.conf)


class FilesManager(HtpasswdManager):
    kind = FILES_MANAGER

    def __init__(self, target: Target, calls: Calls, engine: DockerEngine) -> None:
        super().__init__(target.model_copy(update={"file": target.file or FILE}), calls, engine)
