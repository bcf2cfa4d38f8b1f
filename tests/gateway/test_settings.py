"""The settings behind the gateway's guard: the token file, the names it answers to, and the
address it listens on; and the installer, whose HTTP API is /healthz and /metrics only now,
needs no token on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.gateway.settings import GatewaySettings
from services.installer.settings import InstallerSettings
from shared.errors import ConfigError
from shared.http_guard import parse_hosts, read_token
from shared.service import ServiceSettings, is_loopback, warn_beyond_loopback

pytestmark = pytest.mark.unit

TOKEN = "t0ken-Of-the_test~cell"


# -- settings: the token file, the names, the address ------------------------------------


def test_the_token_file_must_be_set() -> None:
    with pytest.raises(ConfigError, match="PIC_API_TOKEN_FILE is not set"):
        read_token(None)


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the API token file .*No such file"):
        read_token(tmp_path / "nothere")


def test_an_unreadable_token_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Is a directory"):
        read_token(tmp_path)


@pytest.mark.parametrize("content", ["", "\n", "  \n"])
def test_an_empty_token_file_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "token").write_text(content)
    with pytest.raises(ConfigError, match="is empty"):
        read_token(tmp_path / "token")


@pytest.mark.parametrize("content", ["two words", "line1\nline2", "t\u00f6ken"])
def test_a_token_no_header_can_carry_is_refused_without_quoting_it(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / "token").write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_token(tmp_path / "token")
    assert "cannot carry" in caught.value.message
    assert content not in caught.value.message


def test_the_token_is_read_without_its_newline(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    assert read_token(tmp_path / "token") == TOKEN.encode()


def test_the_gateway_answers_to_loopback_names_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    monkeypatch.setenv("PIC_API_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("PIC_GATEWAY_HTTP_PORT", "9999")
    monkeypatch.delenv("PIC_API_HOSTS", raising=False)
    guard = GatewaySettings().http_guard()
    assert guard.token == TOKEN.encode()
    assert guard.hosts == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "127.0.0.1:9999",
        "localhost:9999",
        "[::1]:9999",
    }
    monkeypatch.setenv("PIC_API_HOSTS", " Cell.LAN:8476, ,cell.lan ")
    assert GatewaySettings().http_guard().hosts == {"cell.lan:8476", "cell.lan"}


def test_the_gateway_has_no_guard_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIC_API_TOKEN_FILE", raising=False)
    with pytest.raises(ConfigError, match="PIC_API_TOKEN_FILE is not set"):
        GatewaySettings().http_guard()


def test_the_installer_wants_no_token_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its HTTP API is /healthz and /metrics: the token guards it only beyond loopback.
    monkeypatch.delenv("PIC_API_TOKEN_FILE", raising=False)
    monkeypatch.delenv("PIC_HTTP_HOST", raising=False)
    assert InstallerSettings().http_guard() is None
    monkeypatch.setenv("PIC_HTTP_HOST", "0.0.0.0")
    with pytest.raises(ConfigError, match="PIC_API_TOKEN_FILE is not set"):
        InstallerSettings().http_guard()


def test_parse_hosts() -> None:
    assert parse_hosts("a, B:1 ,,") == ("a", "b:1")


def test_http_listens_on_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIC_HTTP_HOST", raising=False)
    assert ServiceSettings(name="x").http_host == "127.0.0.1"
    assert GatewaySettings().http_host == "127.0.0.1"
    assert GatewaySettings().http_port == 8476


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("cell.lan", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_listening_beyond_loopback_is_a_warning() -> None:
    with capture_logs() as logs:
        warn_beyond_loopback("127.0.0.1")
        warn_beyond_loopback("0.0.0.0")
    assert [(e["event"], e["log_level"], e["http_host"]) for e in logs] == [
        ("http_beyond_loopback", "warning", "0.0.0.0")
    ]


def run_gateway(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Nothing listens on port 9: had the gateway not refused at once, it would hang
    # connecting to NATS until the timeout.
    base = {"PATH": os.environ["PATH"], "PIC_NATS_URL": "nats://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "services.gateway"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("content", [None, ""])
def test_the_gateway_refuses_to_start_without_a_token(tmp_path: Path, content: str | None) -> None:
    env = {"PIC_DATA_DIR": str(tmp_path)}
    if content is not None:
        (tmp_path / "token").write_text(content)
        env["PIC_API_TOKEN_FILE"] = str(tmp_path / "token")
    done = run_gateway(env)
    assert done.returncode == 1, done.stderr
    assert "service_failed" in done.stderr
    assert "PIC_API_TOKEN_FILE" in done.stderr
