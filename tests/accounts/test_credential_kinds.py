"""Every credential kind a manifest lists reaches the account: a kind its manager cannot
carry is refused at validate time (never provisioned as an empty password), and the
managers refuse to make an account without one."""

from __future__ import annotations

import asyncio

import pytest

from services.accounts.errors import ManagerError
from services.accounts.managers import manager_for
from services.accounts.managers.base import Calls
from services.accounts.managers.htpasswd import accepts, entry
from services.accounts.state import Target
from shared.manifest.const import (
    CREDENTIAL_KINDS,
    HTTP_MANAGER,
    INTERNAL_MANAGERS,
    MANAGER_CREDENTIALS,
)
from tests.manifest.helpers import by_path, issues_of, notes

pytestmark = pytest.mark.unit


def manifest(manager: str, credentials: list[str]) -> dict[str, object]:
    data = notes()
    data["accounts"].update(manager=manager, credentials=credentials)
    if manager == "htpasswd":
        data["accounts"]["file"] = "/data/htpasswd"
    placeholder = "{peer.service_credentials.notes.%s}"
    data["peer_config_template"] = {kind: placeholder % kind for kind in credentials}
    return data


def test_every_manager_declares_the_kinds_it_carries() -> None:
    assert set(MANAGER_CREDENTIALS) == {HTTP_MANAGER, *INTERNAL_MANAGERS}
    for kinds in MANAGER_CREDENTIALS.values():
        assert kinds and kinds <= CREDENTIAL_KINDS


@pytest.mark.parametrize("manager", ["htpasswd", "files", "email", "calendar"])
@pytest.mark.parametrize("kind", ["token", "ssh_key"])
def test_a_kind_the_manager_cannot_carry_is_refused(manager: str, kind: str) -> None:
    if kind in MANAGER_CREDENTIALS[manager]:
        pytest.skip(f"{manager} carries {kind}")
    found = by_path(issues_of(manifest(manager, ["password", kind])))
    assert list(found) == ["$.accounts.credentials[1]"], found
    message = found["$.accounts.credentials[1]"]
    assert f"the {manager} account manager cannot carry a" in message
    assert f'"{kind}"' in message and "carries: password" in message


def test_only_a_token_is_refused_by_a_password_manager() -> None:
    found = by_path(issues_of(manifest("files", ["token"])))
    assert "cannot carry" in found["$.accounts.credentials[0]"]


def test_the_http_manager_carries_every_kind() -> None:
    assert issues_of(manifest("http", sorted(CREDENTIAL_KINDS))) == []


def test_the_files_manager_with_a_password_is_fine() -> None:
    assert issues_of(manifest("files", ["password"])) == []


def test_no_account_is_made_with_an_empty_password() -> None:
    target = Target(
        service_id="files", manager="files", credentials=["token"], container="cell-files-dav"
    )
    manager = manager_for(target, Calls(1, 0), engine=None)  # type: ignore[arg-type]
    with pytest.raises(ManagerError, match="got no password for demo"):
        asyncio.run(manager.create("demo", {"token": "t" * 64}))


def test_an_entry_accepts_its_password_only() -> None:
    line = entry("demo", "right-password")
    assert line.startswith("demo:$2y$")
    assert accepts(line, "right-password")
    assert not accepts(line, "wrong-password")
    assert not accepts(line, "")
    assert not accepts("demo:{SHA}notbcrypt", "right-password")
