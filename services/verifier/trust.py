"""The cell's trusted keys, loaded from `image_verification` on every request.

An entry of `public_keys` (and `rekor_public_key`) is either the PEM text of a `PUBLIC KEY`
or the path of a file holding one (`cosign.pub`); a relative path is taken from the folder of
cell_config.json. The fingerprint names the key set, so that a cached result is only reused
under the very keys that produced it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from services.verifier.errors import TrustConfigError
from shared.config import ImageVerification
from shared.cosign import KeyFormatError, PublicKey, load_public_key

MAX_KEY_FILE_BYTES = 64 * 1024
PEM_MARK = "-----BEGIN"
MAX_PATH_LENGTH = 1024


@dataclass(frozen=True)
class Trust:
    keys: tuple[PublicKey, ...]
    rekor_key: PublicKey | None

    @property
    def fingerprint(self) -> str:
        """Names the trusted key set and the Rekor key: their ids, order-free."""
        ids = ",".join(sorted({key.key_id for key in self.keys}))
        rekor = self.rekor_key.key_id if self.rekor_key else "-"
        return hashlib.sha256(f"{ids}|{rekor}".encode()).hexdigest()[:32]


def _read(entry: str, base: Path, where: str) -> bytes:
    if PEM_MARK in entry:
        return entry.encode()
    if len(entry) > MAX_PATH_LENGTH or "\n" in entry:
        raise TrustConfigError(f"{where}: neither a PEM PUBLIC KEY nor the path of a key file")
    path = Path(entry) if Path(entry).is_absolute() else base / entry
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise TrustConfigError(
            f"{where}: cannot read the key file {path} ({exc.strerror or exc}); "
            "give the PEM text of a cosign.pub or the path of one"
        ) from exc
    if len(data) > MAX_KEY_FILE_BYTES:
        raise TrustConfigError(f"{where}: {path} is too large to be a public key file")
    return data


def _load(entry: str, base: Path, where: str) -> PublicKey:
    try:
        return load_public_key(_read(entry.strip(), base, where))
    except KeyFormatError as exc:
        raise TrustConfigError(f"{where}: {exc.message}") from exc


def load_trust(config: ImageVerification, base: Path) -> Trust:
    """The keys of the cell config; TrustConfigError names the entry that does not load."""
    if not config.public_keys:
        raise TrustConfigError(
            "no trusted public key is configured: add the store's cosign.pub (PEM text or a "
            "path) to image_verification.public_keys in cell_config.json"
        )
    keys = tuple(
        _load(entry, base, f"image_verification.public_keys[{i}]")
        for i, entry in enumerate(config.public_keys)
    )
    rekor = (
        _load(config.rekor_public_key, base, "image_verification.rekor_public_key")
        if config.rekor_public_key
        else None
    )
    return Trust(keys, rekor)
