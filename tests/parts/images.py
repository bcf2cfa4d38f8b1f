"""Test images, built locally from Debian's busybox-static: no pulls from the internet.

`build_base` makes a one-layer image with busybox and its applets; the test services add
a small layer on top (a web root, an entrypoint) through `docker build` with no network.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests.parts.docker_engine import docker

BUSYBOX = Path("/bin/busybox")
APPLETS = ["sh", "httpd", "echo", "cat", "sleep", "wget", "nc", "ls", "env", "tar", "mkdir",
           "rm", "cp", "mv", "gzip", "id", "test", "true", "false", "printf", "grep", "ip"]
BASE_TAG = "pic-store-test/busybox:base"


def build_base() -> str:
    """Import a busybox rootfs as an image (idempotent) and return its tag."""
    if docker("images", "-q", BASE_TAG):
        return BASE_TAG
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rootfs"
        (root / "bin").mkdir(parents=True)
        (root / "tmp").mkdir()
        (root / "etc").mkdir()
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        for applet in APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        tarball = Path(tmp) / "rootfs.tar"
        shutil.make_archive(str(tarball.with_suffix("")), "tar", root_dir=root)
        docker("import", "-c", 'CMD ["/bin/sh"]', str(tarball), BASE_TAG)
    return BASE_TAG


def build_image(tag: str, dockerfile: str, files: dict[str, str] | None = None) -> str:
    """`docker build` a small image FROM the local base, with no network access."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile)
        for name, text in (files or {}).items():
            path = ctx / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o755)
        docker("build", "--network", "none", "-q", "-t", tag, str(ctx))
    return tag


def push(tag: str, remote: str) -> str:
    """Tag and push to the local registry; return `remote@sha256:...`."""
    docker("tag", tag, remote)
    docker("push", "-q", remote)
    digests = docker("inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", remote)
    repo = remote.rsplit(":", 1)[0]
    for line in digests.splitlines():
        if line.startswith(repo + "@"):
            return line
    raise RuntimeError(f"no digest for {remote} after push: {digests}")
