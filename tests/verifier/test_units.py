"""The verifier's and the publisher's pure parts: cache, trusted keys, manifest rewrite."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from app.publish import PublishError, build_context, publish_target, rewrite_image
from services.verifier.cache import CacheKey, VerificationCache
from services.verifier.errors import TrustConfigError
from services.verifier.settings import DEFAULT_HTTP_PORT, VerifierSettings
from services.verifier.trust import load_trust
from shared.config import ImageVerification
from shared.cosign import VerifiedSignature
from tests.verifier.conftest import Signer

pytestmark = pytest.mark.unit

SIG = VerifiedSignature("sha256:" + "a" * 64, "k" * 64, "classic", False)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def key(digest: str = SIG.digest, trust: str = "t1") -> CacheKey:
    return CacheKey("127.0.0.1:5000/roof/x", digest, trust)


def test_cache_hits_only_under_the_same_trust_and_expires() -> None:
    clock = Clock()
    cache = VerificationCache(10, ttl=60, clock=clock)
    assert cache.use_trust("t1") is False  # the first key set is not a change
    cache.put(key(), SIG)
    assert cache.get(key()) == SIG
    assert cache.get(key(trust="t2")) is None
    clock.now = 61
    assert cache.get(key()) is None and len(cache) == 0


def test_a_key_change_empties_the_cache() -> None:
    cache = VerificationCache(10, ttl=60)
    cache.use_trust("t1")
    cache.put(key(), SIG)
    assert cache.use_trust("t1") is False and len(cache) == 1
    assert cache.use_trust("t2") is True and len(cache) == 0
    cache.put(key(trust="t1"), SIG)  # a result under the old keys is not kept
    assert len(cache) == 0


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache = VerificationCache(2, ttl=60)
    cache.use_trust("t1")
    a, b, c = (key("sha256:" + ch * 64) for ch in "abc")
    cache.put(a, SIG)
    cache.put(b, SIG)
    assert cache.get(a) == SIG
    cache.put(c, SIG)
    assert cache.get(b) is None and cache.get(a) == SIG and cache.get(c) == SIG
    off = VerificationCache(0, ttl=60)
    off.use_trust("t1")
    off.put(a, SIG)
    assert len(off) == 0


def test_trust_from_pem_text_and_paths(tmp_path: Path, signer: Signer, stranger: Signer) -> None:
    _, pub = stranger.write(tmp_path / "keys")
    config = ImageVerification(
        public_keys=[signer.public_pem.decode(), "keys/cosign.pub"], rekor_public_key=str(pub)
    )
    trust = load_trust(config, tmp_path)
    assert [k.key_id for k in trust.keys] == [signer.key_id, stranger.key_id]
    assert trust.rekor_key is not None and trust.rekor_key.key_id == stranger.key_id
    reordered = ImageVerification(
        public_keys=[str(pub), signer.public_pem.decode()], rekor_public_key=str(pub)
    )
    assert load_trust(reordered, tmp_path).fingerprint == trust.fingerprint
    fewer = ImageVerification(public_keys=[signer.public_pem.decode()], rekor_public_key=str(pub))
    assert load_trust(fewer, tmp_path).fingerprint != trust.fingerprint
    no_rekor = ImageVerification(public_keys=config.public_keys)
    assert load_trust(no_rekor, tmp_path).fingerprint != trust.fingerprint


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], "no trusted public key is configured"),
        (["missing.pub"], "image_verification.public_keys[0]: cannot read the key file"),
        (
            ["MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\nabc"],
            "image_verification.public_keys[0]: neither a PEM PUBLIC KEY nor the path",
        ),
        (
            ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
            "image_verification.public_keys[0]: the public key does not parse",
        ),
    ],
)
def test_unusable_keys_are_named(tmp_path: Path, entries: list[str], expected: str) -> None:
    with pytest.raises(TrustConfigError) as caught:
        load_trust(ImageVerification(public_keys=entries), tmp_path)
    assert expected in caught.value.reason


def test_a_private_key_in_the_trust_list_is_refused_without_echoing_it(
    tmp_path: Path, signer: Signer
) -> None:
    with pytest.raises(TrustConfigError) as caught:
        load_trust(ImageVerification(public_keys=[signer.private_pem.decode()]), tmp_path)
    assert "expected a PEM PUBLIC KEY" in caught.value.reason
    assert signer.private_pem.decode().splitlines()[1] not in caught.value.reason


def test_settings_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIC_VERIFIER_HTTP_PORT", raising=False)
    assert VerifierSettings().http_port == DEFAULT_HTTP_PORT
    monkeypatch.setenv("PIC_VERIFIER_HTTP_PORT", "9999")
    assert VerifierSettings().http_port == 9999


MANIFEST = """{
    "schema_version": 3,
    "id": "notes",
    "image": "git.pic.ngo/roof/notes:1.0.0",
    "env": [{"key": "A", "value": "git.pic.ngo/roof/notes:1.0.0"}],
    "accounts": {"image": "other"}
}
"""


def test_rewrite_changes_only_the_image() -> None:
    pinned = "127.0.0.1:5000/roof/notes@sha256:" + "b" * 64
    out = rewrite_image(MANIFEST, pinned)
    assert out == MANIFEST.replace(
        '"image": "git.pic.ngo/roof/notes:1.0.0"', f'"image": "{pinned}"'
    )
    assert json.loads(out)["env"][0]["value"] == "git.pic.ngo/roof/notes:1.0.0"


def test_rewrite_falls_back_to_rewriting_the_json_with_its_indent() -> None:
    twice = '{\n   "image": "x:1",\n   "accounts": {"image": "x:1"}\n}\n'
    out = rewrite_image(twice, "y@sha256:" + "c" * 64)
    assert json.loads(out) == {"image": "y@sha256:" + "c" * 64, "accounts": {"image": "x:1"}}
    assert out.startswith('{\n   "image"') and out.endswith("}\n")


def test_publish_target() -> None:
    assert publish_target("127.0.0.1:5000/roof/", "notes", "1.0.0") == (
        "127.0.0.1:5000/roof/notes",
        "1.0.0",
    )
    for bad in ("roof", "127.0.0.1:5000", "Roof/x"):
        with pytest.raises(PublishError):
            publish_target(bad, "notes", "1.0.0")


def test_build_context_is_sorted_owned_by_root_and_skips_git(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "a" / "run.sh").chmod(0o755)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    with tarfile.open(fileobj=io.BytesIO(build_context(tmp_path))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a", "a/run.sh", "b.txt"]
    assert all(m.uid == 0 and m.uname == "" for m in members)
    assert members[1].mode & 0o111
    with pytest.raises(ValueError, match="larger than"):
        build_context(tmp_path, max_bytes=10)
