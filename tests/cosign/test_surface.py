"""The public surfaces of shared.oci and shared.cosign are what we mean them to be."""

from __future__ import annotations

import pytest

import shared.cosign
import shared.oci
from shared.errors import PicStoreError

pytestmark = pytest.mark.unit


def test_cosign_surface():
    assert set(shared.cosign.__all__) == {
        "BUNDLE_V03",
        "SIGN_PREDICATE",
        "SIMPLE_SIGNING",
        "KeyFormatError",
        "KeyPasswordError",
        "PrivateKey",
        "PublicKey",
        "SigningError",
        "TrustError",
        "VerificationError",
        "VerifiedSignature",
        "generate_key_pair",
        "load_private_key",
        "load_public_key",
        "sign_bundle",
        "sign_classic",
        "signature_tag",
        "verify_image",
    }
    assert all(hasattr(shared.cosign, name) for name in shared.cosign.__all__)


def test_oci_surface_and_error_tree():
    assert all(hasattr(shared.oci, name) for name in shared.oci.__all__)
    errors = [getattr(shared.oci, n) for n in shared.oci.__all__ if n.endswith("Error")]
    assert len(errors) == 9
    assert all(issubclass(e, shared.oci.RegistryError) for e in errors)
    assert issubclass(shared.oci.RegistryError, PicStoreError)
    assert issubclass(shared.cosign.TrustError, PicStoreError)
