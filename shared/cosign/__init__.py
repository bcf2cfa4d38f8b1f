"""Image trust in native Python: cosign keys, cosign signatures (classic and cosign 3
bundles), Rekor evidence, and signing. The public surface is what `__all__` lists.
"""

from shared.cosign.bundle import BUNDLE_V03, SIGN_PREDICATE
from shared.cosign.classic import SIMPLE_SIGNING, signature_tag
from shared.cosign.errors import (
    KeyFormatError,
    KeyPasswordError,
    SigningError,
    TrustError,
    VerificationError,
)
from shared.cosign.keys import (
    PrivateKey,
    PublicKey,
    generate_key_pair,
    load_private_key,
    load_public_key,
)
from shared.cosign.sign import sign_bundle, sign_classic
from shared.cosign.verify import VerifiedSignature, verify_image

__all__ = [
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
]
