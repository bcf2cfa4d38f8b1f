"""`python -m app.deploy.healthz NAME`: exit 0 when service NAME answers /healthz (the
deployment's healthcheck; the port is the service's own, from the roster)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from app.embedded.stack import EmbeddedStack
from shared.roster import HTTP_PORTS


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in HTTP_PORTS:
        print(f"usage: python -m app.deploy.healthz {{{','.join(HTTP_PORTS)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    port = EmbeddedStack.service_port(name)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except (OSError, urllib.error.URLError) as exc:
        print(f"{name}: /healthz on port {port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
