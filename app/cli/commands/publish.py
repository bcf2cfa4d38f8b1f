"""`pic-store publish SERVICE_DIR --registry HOST/PATH --key cosign.key`: build, push, sign,
and pin manifest.json's image to the pushed digest."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from app.cli.keyfiles import PASSWORD_ENV, read_private_key
from app.cli.output import EXIT_OK, fail
from app.publish import PublishRequest, publish
from shared.errors import PicStoreError
from shared.manifest import DEFAULT_PIC_ROOT, ManifestInvalidError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="build, push and sign a service's image; pin its manifest to the digest",
        description="Validate SERVICE_DIR/manifest.json (with --registry as the allowed "
        "registry), build SERVICE_DIR/Dockerfile through the Docker engine (no network, no "
        "pull), push it as HOST/PATH/<id>:<version>, sign the pushed digest, and rewrite the "
        "manifest's image to HOST/PATH/<id>@sha256:<digest>. The key's password comes from "
        f"${PASSWORD_ENV} or is asked.",
    )
    parser.add_argument("service_dir", metavar="SERVICE_DIR", type=Path)
    parser.add_argument(
        "--registry",
        metavar="HOST/PATH",
        required=True,
        help="where the image goes, e.g. 127.0.0.1:5000/roof",
    )
    parser.add_argument("--key", metavar="COSIGN_KEY", type=Path, required=True)
    parser.add_argument(
        "--bundle", action="store_true", help="also sign in the cosign 3 bundle format"
    )
    parser.add_argument(
        "--insecure-registry",
        action="store_true",
        help="the registry speaks plain HTTP (a local test registry)",
    )
    parser.add_argument("--tag", help="the tag to push (default: the manifest's version)")
    parser.add_argument(
        "--pic-root",
        metavar="DIR",
        default=DEFAULT_PIC_ROOT,
        help=f"PIC's project folder, for the manifest rules (default {DEFAULT_PIC_ROOT})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        key = read_private_key(args.key)
        request = PublishRequest(
            args.service_dir,
            args.registry,
            key,
            bundle=args.bundle,
            insecure=args.insecure_registry,
            tag=args.tag,
            pic_root=args.pic_root,
        )
        published = asyncio.run(publish(request))
    except ManifestInvalidError as exc:
        return fail(f"{args.service_dir}: {exc.message}")
    except PicStoreError as exc:
        return fail(exc.message)
    print(published.image)
    return EXIT_OK
