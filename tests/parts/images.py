"""Test images, built locally FROM the busybox base (app.embedded.base_image): the test
services add a small layer on top through `docker build` with no network."""

from __future__ import annotations

import tempfile
from pathlib import Path

from app.embedded import base_image
from tests.parts.docker_engine import docker

BASE_TAG = "pic-store-test/busybox:base"


def build_base() -> str:
    return base_image.build_base(BASE_TAG)


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


def forget_registry_images(registry_host: str) -> None:
    """Untag every image of a test registry (its port is new each session)."""
    refs = docker(
        "images", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}"
    )
    names = [
        ref
        for line in refs.splitlines()
        for ref in line.split()
        if ref.startswith(registry_host + "/") and not ref.endswith(("<none>", ":<none>"))
    ]
    if names:
        docker("rmi", *names, check=False)
