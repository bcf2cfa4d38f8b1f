"""The encrypted private-key format of cosign (go-securesystemslib `encrypted`).

`cosign generate-key-pair` writes the PKCS#8 DER of the key, encrypted, as the body of a PEM
block `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE KEY`). The
body is compact JSON, byte strings in standard base64:

    {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<32 bytes>"},
     "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes>"},"ciphertext":"<tag+box>"}

The key is scrypt(password, salt, N, r, p, 32 bytes); the ciphertext is NaCl secretbox
(XSalsa20-Poly1305, tag first). Only the three scrypt settings that library accepts are
accepted here (N = 32768, 65536 or 131072 with r=8, p=1), so a hostile file cannot ask for
an absurd amount of memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os

import nacl.exceptions
import nacl.secret

from shared.cosign.errors import KeyFormatError, KeyPasswordError

SCRYPT_N = 65536
_ACCEPTED = {(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)}
_MAXMEM = 256 * 1024 * 1024


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def encrypt(plaintext: bytes, password: bytes) -> bytes:
    salt, nonce = os.urandom(32), os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    key = _derive(password, salt, SCRYPT_N, 8, 1)
    ciphertext = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    document = {
        "kdf": {"name": "scrypt", "params": {"N": SCRYPT_N, "r": 8, "p": 1}, "salt": b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
        "ciphertext": b64(ciphertext),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decrypt(document: bytes, password: bytes) -> bytes:
    try:
        data = json.loads(document)
        kdf, cipher = data["kdf"], data["cipher"]
        params = kdf["params"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        ciphertext = base64.b64decode(data["ciphertext"], validate=True)
        names = (kdf["name"], cipher["name"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyFormatError(
            "the encrypted private key is damaged (not the cosign format)"
        ) from exc
    if names != ("scrypt", "nacl/secretbox"):
        raise KeyFormatError(f"unsupported key encryption {names[0]!r}/{names[1]!r}")
    if (n, r, p) not in _ACCEPTED:
        raise KeyFormatError(f"unsupported scrypt parameters N={n} r={r} p={p}")
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise KeyFormatError("the encrypted private key has a nonce of the wrong size")
    try:
        return nacl.secret.SecretBox(_derive(password, salt, n, r, p)).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError as exc:
        raise KeyPasswordError(
            "wrong password for the private key (or the key is damaged)"
        ) from exc
