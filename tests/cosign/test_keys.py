"""cosign key formats: public keys and ids, the encrypted private key, generation."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.cosign import (
    KeyFormatError,
    KeyPasswordError,
    generate_key_pair,
    load_private_key,
    load_public_key,
)
from shared.cosign.encrypted import decrypt, encrypt
from shared.cosign.keys import PublicKey, pem_block, pem_encode
from tests.cosign.conftest import fixture_signature, read_fixture

pytestmark = pytest.mark.unit

PASSWORD = b"correct horse battery staple"


def test_fixture_public_keys_load_with_sha256_spki_ids():
    rekor = load_public_key(read_fixture("rekor.pub"))
    # Rekor's log id is the same hash of the same key: the fixture's bundle names it.
    assert rekor.key_id == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    cosign = load_public_key(read_fixture("cosign.pub").decode())
    assert cosign.pem() == read_fixture("cosign.pub")
    assert cosign.key_id != load_public_key(read_fixture("cosign2.pub")).key_id


def test_fixture_signature_verifies_directly():
    signature = fixture_signature("dir-img-cosign-valid/signature-1")
    payload = base64.b64decode(signature["payload"])
    raw = base64.b64decode(signature["annotations"]["dev.cosignproject.cosign/signature"])
    assert load_public_key(read_fixture("cosign.pub")).verify(raw, payload)
    assert not load_public_key(read_fixture("cosign2.pub")).verify(raw, payload)
    assert not load_public_key(read_fixture("cosign.pub")).verify(b"\x30\x02garbage", payload)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"not a key",
        b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n",
        pem_encode("PUBLIC KEY", b"\x30\x03\x02\x01\x00"),
    ],
)
def test_garbage_public_keys_are_refused(text: bytes):
    with pytest.raises(KeyFormatError):
        load_public_key(text)


def test_a_private_key_is_not_a_public_key():
    private_pem, _ = generate_key_pair(PASSWORD)
    with pytest.raises(KeyFormatError, match="expected a PEM PUBLIC KEY"):
        load_public_key(private_pem)


def test_ed25519_public_keys_verify():
    key = ed25519.Ed25519PrivateKey.generate()
    public = PublicKey.of(key.public_key())
    assert load_public_key(public.pem()).verify(key.sign(b"data"), b"data")


def test_generated_key_pair_round_trip():
    private_pem, public_pem = generate_key_pair(PASSWORD)
    private = load_private_key(private_pem, PASSWORD)
    public = load_public_key(public_pem)
    assert private.public == public
    assert public.verify(private.sign(b"payload"), b"payload")
    assert PASSWORD.decode() not in repr(private)


def test_generated_private_key_has_cosigns_format():
    private_pem, _ = generate_key_pair(PASSWORD)
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    _kind, body = pem_block(private_pem)
    assert all(len(line) <= 64 for line in private_pem.splitlines())
    document = json.loads(body)
    assert list(document) == ["kdf", "cipher", "ciphertext"]
    assert document["kdf"]["name"] == "scrypt"
    assert document["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    assert len(base64.b64decode(document["kdf"]["salt"])) == 32
    assert document["cipher"]["name"] == "nacl/secretbox"
    assert len(base64.b64decode(document["cipher"]["nonce"])) == 24
    der = decrypt(body, PASSWORD)
    key = serialization.load_der_private_key(der, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"


def test_wrong_password_is_a_clear_error_without_the_password():
    private_pem, _ = generate_key_pair(PASSWORD)
    with pytest.raises(KeyPasswordError, match="wrong password") as caught:
        load_private_key(private_pem, b"hunter2")
    assert "hunter2" not in str(caught.value)


def test_older_cosign_header_and_empty_password_are_accepted():
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = pem_encode("ENCRYPTED COSIGN PRIVATE KEY", encrypt(der, b""))
    assert load_private_key(pem, b"").public == PublicKey.of(key.public_key())


def test_unsupported_scrypt_parameters_are_refused_before_deriving():
    document = json.loads(encrypt(b"secret", PASSWORD))
    document["kdf"]["params"]["N"] = 1 << 30
    with pytest.raises(KeyFormatError, match="unsupported scrypt parameters"):
        decrypt(json.dumps(document).encode(), PASSWORD)


@pytest.mark.parametrize("body", [b"{}", b"not json", b'{"kdf":{"name":"scrypt"}}'])
def test_damaged_private_keys_are_format_errors(body: bytes):
    with pytest.raises(KeyFormatError):
        load_private_key(pem_encode("ENCRYPTED SIGSTORE PRIVATE KEY", body), PASSWORD)


def test_non_cosign_private_key_pem_is_refused():
    with pytest.raises(KeyFormatError, match="ENCRYPTED SIGSTORE PRIVATE KEY"):
        load_private_key(pem_encode("PRIVATE KEY", b"\x00"), PASSWORD)
