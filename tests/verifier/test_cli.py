"""`pic-store keygen / sign / verify / publish`: exit codes, outputs, and no secret printed."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from app.cli.main import main
from shared.cosign import BUNDLE_V03, load_private_key, load_public_key
from shared.oci import RegistryClient, Repository, parse_reference
from tests.cosign.conftest import FIXTURES, load_fixture
from tests.verifier.conftest import Signer, service_folder, small_image

pytestmark = pytest.mark.integration
T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


def run(registry_host: str, work: Callable[[RegistryClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with RegistryClient(insecure_registries={registry_host}, trust_env=False) as c:
            return await work(c)

    return asyncio.run(go())


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch, signer: Signer) -> str:
    monkeypatch.setenv("COSIGN_PASSWORD", signer.password)
    return signer.password


def test_keygen_writes_a_pair_cosign_can_use(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret-pw")
    assert main(["keygen", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    key, pub = tmp_path / "cosign.key", tmp_path / "cosign.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    public = load_public_key(pub.read_bytes())
    assert load_private_key(key.read_bytes(), b"s3cret-pw").public == public
    assert f"key id: {public.key_id}" in out and "s3cret-pw" not in out

    assert main(["keygen", "--output-dir", str(tmp_path)]) == 1
    assert "already exists; use --force" in capsys.readouterr().err
    assert load_public_key(pub.read_bytes()) == public, "left untouched"
    key.chmod(0o644)
    assert main(["keygen", "--output-dir", str(tmp_path), "--force"]) == 0
    assert load_public_key(pub.read_bytes()) != public
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keygen_asks_the_password_twice(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["keygen", "--output-dir", str(tmp_path / "a")]) == 1
    assert "the two passwords differ" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    answers = iter(["same", "same"])
    assert main(["keygen", "--output-dir", str(tmp_path / "b")]) == 0
    load_private_key((tmp_path / "b" / "cosign.key").read_bytes(), b"same")


def test_sign_then_verify(
    tmp_path: Path, registry_host: str, signer: Signer, stranger: Signer, password: str, capsys
) -> None:
    key, pub = signer.write(tmp_path / "store")
    _, other_pub = stranger.write(tmp_path / "other")
    image = run(registry_host, lambda c: small_image(c, registry_host))
    insecure = "--insecure-registry"
    assert main(["verify", image, "--key", str(pub), insecure]) == 1
    assert f"no signature found for {image.split('@')[1]}" in capsys.readouterr().err

    assert main(["sign", image, "--key", str(key), "--bundle", insecure]) == 0
    out = capsys.readouterr().out
    assert f"Signed {image} (classic, bundle) with key {signer.key_id}" in out
    assert password not in out

    assert main(["verify", image, "--key", str(pub), insecure]) == 0
    out = capsys.readouterr().out
    assert f"key id: {signer.key_id}" in out and "format: classic" in out
    assert main(["verify", image, "--key", str(other_pub), "--key", str(pub), insecure]) == 0
    assert main(["verify", image, "--key", str(other_pub), insecure]) == 1
    assert "does not verify under any trusted key" in capsys.readouterr().err
    ref = parse_reference(image)
    referrers = run(registry_host, lambda c: c.referrers(ref.repository, ref.digest or ""))
    assert [d.artifact_type for d in referrers] == [BUNDLE_V03]


def test_usage_and_file_errors(
    tmp_path: Path, registry_host: str, signer: Signer, monkeypatch, capsys
) -> None:
    key, pub = signer.write(tmp_path)
    tagged = f"{registry_host}/roof/x:1.0.0"
    assert main(["verify", tagged, "--key", str(pub)]) == 2
    assert "has no @sha256 digest" in capsys.readouterr().err
    assert main(["sign", tagged, "--key", str(key)]) == 2
    assert main(["verify", "Not An Image", "--key", str(pub)]) == 2
    assert main(["verify", f"{registry_host}/roof/x@sha256:" + "a" * 64]) == 2  # no --key
    pinned = f"{registry_host}/roof/x@sha256:" + "a" * 64
    assert main(["verify", pinned, "--key", str(tmp_path / "nope.pub")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", pinned, "--key", str(key)]) == 1
    assert "expected a PEM PUBLIC KEY" in capsys.readouterr().err
    monkeypatch.setenv("COSIGN_PASSWORD", "wrong-password-123")
    assert main(["sign", pinned, "--key", str(key), "--insecure-registry"]) == 1
    err = capsys.readouterr().err
    assert "wrong password" in err and "wrong-password-123" not in err


def test_the_console_script_verifies(tmp_path: Path, registry_host: str, signer: Signer) -> None:
    _, pub = signer.write(tmp_path)
    image = run(registry_host, lambda c: small_image(c, registry_host, signer))
    script = REPO / ".venv" / "bin" / "pic-store"
    env = {**os.environ, "PIC_STORE_DEBUG": ""}
    done = subprocess.run(
        [str(script), "verify", image, "--key", str(pub), "--insecure-registry"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"key id: {signer.key_id}" in done.stdout
    usage = subprocess.run(
        [str(script), "verify", image.split("@")[0] + ":v1", "--key", str(pub)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert usage.returncode == 2 and "no @sha256 digest" in usage.stderr


@pytest.mark.parametrize(
    ("folder", "keys", "code", "says"),
    [
        ("dir-img-cosign-valid", ["cosign.pub"], 0, "format: classic"),
        ("dir-img-cosign-valid", ["cosign2.pub"], 1, "does not verify under any trusted key"),
        (
            "dir-img-cosign-key-rekor-valid",
            ["cosign2.pub", "--rekor-key", "rekor.pub"],
            0,
            "rekor: verified",
        ),
        (
            "dir-img-cosign-key-rekor-valid",
            ["cosign.pub", "--rekor-key", "rekor.pub"],
            1,
            "does not verify",
        ),
    ],
)
def test_real_cosign_signatures_through_the_cli(
    registry_host: str,
    registry_storage: Path,
    folder: str,
    keys: list[str],
    code: int,
    says: str,
    capsys,
) -> None:
    repo = Repository(registry_host, f"pic-verifier-cli/{folder}")
    digest = run(registry_host, lambda c: load_fixture(c, registry_storage, repo, folder))
    args = ["--key", str(FIXTURES / keys[0])]
    if len(keys) > 1:
        args += ["--rekor-key", str(FIXTURES / keys[2])]
    assert main(["verify", f"{repo}@{digest}", *args, "--insecure-registry"]) == code
    captured = capsys.readouterr()
    assert says in (captured.out if code == 0 else captured.err)


def test_publish_refuses_before_building(
    tmp_path: Path, registry_host: str, signer: Signer, password: str, capsys
) -> None:
    key, _ = signer.write(tmp_path / "keys")
    folder = service_folder(tmp_path / "store", registry_host, "notes")
    registry = f"{registry_host}/roof"
    assert main(["publish", str(folder), "--registry", "roof", "--key", str(key)]) == 1
    assert "--registry must be HOST[:PORT]/PATH" in capsys.readouterr().err
    (folder / "Dockerfile").unlink()
    assert main(["publish", str(folder), "--registry", registry, "--key", str(key)]) == 1
    assert "no Dockerfile in" in capsys.readouterr().err
    manifest = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(manifest.replace('"cell-notes"', '"notes"'))
    assert main(["publish", str(folder), "--registry", registry, "--key", str(key)]) == 1
    assert "$.container_name" in capsys.readouterr().err
