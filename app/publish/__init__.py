"""The store author's side of image trust: build, push, sign, and pin the manifest.

    published = await publish(PublishRequest(service_dir, "registry/path", private_key))

`publish` is the seed's pipeline for a local store (no kaniko or trivy: the image is built
by the Docker engine from the service folder's Dockerfile); `sign_image` signs a digest that
is already pushed; `rewrite_image` changes a manifest's `image` and nothing else in its text.
"""

from app.publish.context import build_context
from app.publish.pipeline import (
    Published,
    PublishError,
    PublishRequest,
    publish,
    publish_target,
    sign_image,
)
from app.publish.rewrite import rewrite_image

__all__ = [
    "PublishError",
    "PublishRequest",
    "Published",
    "build_context",
    "publish",
    "publish_target",
    "rewrite_image",
    "sign_image",
]
