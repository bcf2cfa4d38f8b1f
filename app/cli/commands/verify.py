"""`pic-store verify IMAGE@sha256:DIGEST --key cosign.pub`: check an image's cosign signature,
as the cell's verifier does (both cosign formats; Rekor only with --rekor-key)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.cli.keyfiles import KeyFileError, read_public_key
from app.cli.output import EXIT_OK, EXIT_USAGE, fail
from shared.cosign import PublicKey, VerificationError, VerifiedSignature, verify_image
from shared.oci import ImageReference, InvalidReferenceError, RegistryClient, RegistryError
from shared.oci import parse_reference as parse_image


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check an image's cosign signature against a public key",
        description="Check that IMAGE@sha256:DIGEST carries a cosign signature (classic or "
        "cosign 3 bundle) made by one of the given keys. Exit 0 and the signer's key id when "
        "it does, 1 with the reason when not, 2 for usage errors. Without --rekor-key the "
        "check is offline, like cosign's --insecure-ignore-tlog.",
    )
    parser.add_argument("image", metavar="IMAGE@sha256:DIGEST")
    parser.add_argument(
        "--key",
        metavar="COSIGN_PUB",
        type=Path,
        action="append",
        required=True,
        help="a trusted public key (repeat for several)",
    )
    parser.add_argument(
        "--rekor-key",
        metavar="REKOR_PUB",
        type=Path,
        help="require a Rekor entry whose signed timestamp verifies under it",
    )
    parser.add_argument(
        "--insecure-registry",
        action="store_true",
        help="talk plain HTTP to the image's registry (a local test registry)",
    )
    parser.set_defaults(func=run)


def pinned_reference(text: str) -> ImageReference | str:
    """The parsed reference, or the usage error to print."""
    try:
        ref = parse_image(text)
    except InvalidReferenceError as exc:
        return exc.message
    if ref.digest is None:
        return f"{text} has no @sha256 digest: a tag can move, so only digests are verified"
    return ref


async def _verify(
    ref: ImageReference, keys: list[PublicKey], rekor: PublicKey | None, insecure: bool
) -> VerifiedSignature:
    hosts = {ref.repository.registry, ref.repository.api_host} if insecure else set()
    async with RegistryClient(insecure_registries=hosts) as client:
        return await verify_image(client, ref, keys, rekor)


def run(args: argparse.Namespace) -> int:
    ref = pinned_reference(args.image)
    if isinstance(ref, str):
        sys.stderr.write(f"pic-store verify: {ref}\n")
        return EXIT_USAGE
    try:
        keys = [read_public_key(path) for path in args.key]
        rekor = read_public_key(args.rekor_key) if args.rekor_key else None
        signature = asyncio.run(_verify(ref, keys, rekor, args.insecure_registry))
    except KeyFileError as exc:
        return fail(exc.message)
    except VerificationError as exc:
        return fail(f"{ref} is not verified: {exc.reason}")
    except RegistryError as exc:
        return fail(f"could not check {ref}: {exc.message}")
    print(f"Verified OK: {ref}")
    print(f"key id: {signature.key_id}")
    print(f"format: {signature.format}")
    print(f"rekor: {'verified' if signature.rekor_verified else 'not checked (offline)'}")
    return EXIT_OK
