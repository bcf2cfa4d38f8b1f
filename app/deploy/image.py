"""`python -m app.deploy.image [--tag TAG]`: build the deployment's image from this checkout.

No image is pulled: the base is a Debian root made here with debootstrap (kept as
`pic-store/bookworm:base` and reused), and the project with its dependencies is installed
from wheels built here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.errors import PartUnavailableError

REPO = Path(__file__).resolve().parents[2]
BASE_TAG = "pic-store/bookworm:base"
DEFAULT_TAG = "pic-store:latest"
SUITE = "bookworm"
BASE_PACKAGES = (
    "python3",
    "python3-venv",
    "ca-certificates",
    "iptables",
    "iproute2",
    "dnsmasq-base",
)


def _run(argv: list[str], what: str, **kwargs: object) -> str:
    done = subprocess.run(argv, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise PartUnavailableError(f"{what} failed: {' / '.join(tail) or 'no output'}")
    return str(done.stdout.decode(errors="replace").strip())


def image_exists(tag: str) -> bool:
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return done.returncode == 0


def build_base(tag: str = BASE_TAG, packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    """A Debian base image from debootstrap with `packages` (made once; about 40 s)."""
    if image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise PartUnavailableError("debootstrap is not installed (Debian package: debootstrap)")
    mirror = os.environ.get("PIC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="pic-base-") as tmp:
        root = Path(tmp) / "root"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                SUITE,
                str(root),
                mirror,
            ],
            "debootstrap",
        )
        slim(root)
        shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        shutil.rmtree(root / "var" / "lib" / "apt" / "lists", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import", "-", tag], "docker import", stdin=tar.stdout)
        tar.wait()
    return tag


SLIMMED = ("usr/share/man", "usr/share/info", "usr/share/locale")


def slim(root: Path) -> None:
    """Take out of a Debian root what no program in it reads at run time (a quarter of the
    reference base): manuals, info pages, translations, and the packages' documentation but
    their copyright files, which stay with what is redistributed."""
    for folder in SLIMMED:
        shutil.rmtree(root / folder, ignore_errors=True)
    for where, _, names in os.walk(root / "usr" / "share" / "doc"):
        for name in names:
            if name != "copyright":
                (Path(where) / name).unlink()


def build_wheels(folder: Path) -> Path:
    """The project and every dependency as wheels in `folder` (what the image installs)."""
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(folder), str(REPO)],
        "building the wheels",
    )
    return folder


def build_image(
    tag: str = DEFAULT_TAG, label: str | None = None, wheels: Path | None = None
) -> str:
    """The deployment's image, FROM the base, with this checkout installed (from `wheels`
    when given, else from wheels built now)."""
    base = build_base()
    with tempfile.TemporaryDirectory(prefix="pic-image-") as tmp:
        context = Path(tmp)
        shutil.copy(REPO / "deploy" / "Dockerfile", context / "Dockerfile")
        if wheels is None:
            build_wheels(context / "wheels")
        else:
            shutil.copytree(wheels, context / "wheels")
        argv = ["docker", "build", "-q", "--network", "none", "--build-arg", f"BASE={base}"]
        if label:
            argv += ["--label", f"ngo.pic.store.build={label}"]
        _run([*argv, "-t", tag, str(context)], "docker build")
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.deploy.image", description=__doc__)
    parser.add_argument("--tag", default=DEFAULT_TAG)
    args = parser.parse_args(argv)
    try:
        print(build_image(args.tag))
    except PartUnavailableError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
