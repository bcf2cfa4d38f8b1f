"""`pic-store sign IMAGE@sha256:DIGEST --key cosign.key`: sign a pushed image, as
`cosign sign --key` does (classic format; --bundle adds the cosign 3 bundle)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.cli.commands.verify import pinned_reference
from app.cli.keyfiles import PASSWORD_ENV, KeyFileError, read_private_key
from app.cli.output import EXIT_OK, EXIT_USAGE, fail
from app.publish import PublishError, sign_image
from shared.cosign import TrustError
from shared.oci import RegistryError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sign",
        help="sign a pushed image digest with a cosign key",
        description="Push a cosign signature of IMAGE@sha256:DIGEST to its registry: the "
        "classic format (cosign 2), and with --bundle the cosign 3 bundle as well. The key's "
        f"password comes from ${PASSWORD_ENV} or is asked. Nothing is uploaded to Rekor.",
    )
    parser.add_argument("image", metavar="IMAGE@sha256:DIGEST")
    parser.add_argument(
        "--key",
        metavar="COSIGN_KEY",
        type=Path,
        required=True,
        help="the private key (cosign.key, ours or cosign's)",
    )
    parser.add_argument(
        "--bundle",
        action="store_true",
        help="also sign in the cosign 3 bundle format (an OCI referrer)",
    )
    parser.add_argument(
        "--insecure-registry",
        action="store_true",
        help="talk plain HTTP to the image's registry (a local test registry)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ref = pinned_reference(args.image)
    if isinstance(ref, str):
        sys.stderr.write(f"pic-store sign: {ref}\n")
        return EXIT_USAGE
    try:
        key = read_private_key(args.key)
        formats = asyncio.run(
            sign_image(str(ref), key, bundle=args.bundle, insecure=args.insecure_registry)
        )
    except (KeyFileError, TrustError, PublishError) as exc:
        return fail(exc.message)
    except RegistryError as exc:
        return fail(f"could not sign {ref}: {exc.message}")
    print(f"Signed {ref} ({', '.join(formats)}) with key {key.public.key_id}")
    return EXIT_OK
