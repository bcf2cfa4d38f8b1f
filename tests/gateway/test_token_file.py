"""The embedded stack's API token (the gateway's): made once, 0600 in a 0700 folder, handed
to the services by path, and `pic-store up` shows the path but never the token, and the
gateway's URL."""

from __future__ import annotations

import argparse
import re
import stat
from pathlib import Path

import pytest

from app.cli.commands import up
from app.embedded.api_token import api_token_path, ensure_api_token
from app.embedded.stack import EmbeddedStack
from shared.http_guard import read_token
from tests.parts.up import reachable

pytestmark = pytest.mark.unit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_token_is_made_once_and_private(tmp_path: Path) -> None:
    path = ensure_api_token(tmp_path)
    assert path == tmp_path / "secrets" / "api-token"
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    token = path.read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", token)  # secrets.token_urlsafe(32)
    assert read_token(path) == token.strip().encode()
    assert ensure_api_token(tmp_path).read_text() == token


def test_loose_modes_are_tightened(tmp_path: Path) -> None:
    path = ensure_api_token(tmp_path)
    path.parent.chmod(0o755)
    path.chmod(0o644)
    ensure_api_token(tmp_path)
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)


def test_an_empty_token_file_is_made_again(tmp_path: Path) -> None:
    path = api_token_path(tmp_path)
    path.parent.mkdir()
    path.write_text("")
    assert read_token(ensure_api_token(tmp_path))


def test_the_services_get_the_token_file(tmp_path: Path) -> None:
    env = EmbeddedStack(tmp_path).service_env()
    assert env["PIC_API_TOKEN_FILE"] == str(api_token_path(tmp_path))
    assert read_token(Path(env["PIC_API_TOKEN_FILE"]))


def test_up_prints_where_the_token_is_but_not_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = reachable(tmp_path / "data")  # run as root, the roles' users enter it
    token = ensure_api_token(data).read_text().strip()

    class NoSupervisor:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def start(self) -> NoSupervisor:
            return self

        def halt(self) -> None:
            pass

        def stop(self) -> None:
            pass

    async def no_wait() -> None:
        pass

    monkeypatch.setattr(EmbeddedStack, "start", lambda self: None)
    monkeypatch.setattr(up, "Supervisor", NoSupervisor)
    monkeypatch.setattr(up, "_wait_for_signal", no_wait)
    args = argparse.Namespace(
        data_dir=data,
        cell="cell",
        domain="cell.pic.test",
        nats_port=4222,
        registry_port=5050,
        dns_port=5354,
        install_example=False,
    )
    assert up.run(args) == 0
    printed = capsys.readouterr().out
    assert str(api_token_path(data.resolve())) in printed
    assert token not in printed
    assert "http://127.0.0.1:8476" in printed
