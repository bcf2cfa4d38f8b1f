"""`pic-store keygen [--output-dir DIR] [--force]`: a cosign key pair for signing images."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.keyfiles import (
    PASSWORD_ENV,
    KeyFileError,
    password,
    refuse_overwrite,
    write_key_pair,
)
from app.cli.output import EXIT_OK, fail
from shared.cosign import generate_key_pair, load_public_key


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "keygen",
        help="make a cosign key pair (cosign.key, cosign.pub)",
        description="Write cosign.key (encrypted with a password, mode 0600) and cosign.pub, "
        "in the format `cosign generate-key-pair` writes. The password comes from "
        f"${PASSWORD_ENV} or is asked twice.",
    )
    parser.add_argument(
        "--output-dir",
        metavar="DIR",
        type=Path,
        default=Path("."),
        help="where to write the two files (default: the current folder)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing key pair")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    folder: Path = args.output_dir
    try:
        if not args.force:
            refuse_overwrite(folder)  # before asking for a password
        private_pem, public_pem = generate_key_pair(password(confirm=True))
        write_key_pair(folder, private_pem, public_pem, args.force)
    except KeyFileError as exc:
        return fail(exc.message)
    key_id = load_public_key(public_pem).key_id
    print(f"Private key written to {folder / 'cosign.key'}")
    print(f"Public key written to {folder / 'cosign.pub'}")
    print(f"key id: {key_id}")
    return EXIT_OK
