"""The images the life-cycle tests install, built once per session and pushed by digest."""

from __future__ import annotations

from dataclasses import dataclass

from tests.parts.images import build_base, build_image, push

# A web service: writes its environment where httpd serves it, then serves on 8080.
WEB_ENTRYPOINT = """#!/bin/sh
mkdir -p /www
env | grep -E '^(NOTES_|PIC_|APP_)' | sort > /www/env.txt
echo "hello from $(hostname)" > /www/index.html
for d in /data/*; do [ -d "$d" ] && date >> "$d/started"; done
exec httpd -f -p 8080 -h /www
"""


@dataclass(frozen=True)
class ImageSet:
    web: str  # answers on 8080 once started
    unhealthy: str  # its healthcheck always fails
    web_v2: str  # same as web, other content (an upgrade)


def build_test_images(registry_host: str) -> ImageSet:
    base = build_base()
    web = build_image(
        "pic-store-test/web:1",
        (f'FROM {base}\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n'),
        {"entrypoint.sh": WEB_ENTRYPOINT},
    )
    web2 = build_image("pic-store-test/web:2", (f"FROM {web}\nLABEL ngo.pic.test.version=2\n"))
    unhealthy = build_image(
        "pic-store-test/unhealthy:1",
        (
            f"FROM {base}\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\n"
            'CMD ["sleep", "3600"]\n'
        ),
    )
    return ImageSet(
        web=push(web, f"{registry_host}/roof/web:1"),
        unhealthy=push(unhealthy, f"{registry_host}/roof/unhealthy:1"),
        web_v2=push(web2, f"{registry_host}/roof/web:2"),
    )
