"""`python -m app.deploy PART`: the entry points of the deployment's containers.

    prepare   once before the others: the bus identities and nats-server's configuration,
              the API token, Caddy's first config, the cell config (first start only)
    nats      nats-server with that configuration
    caddy     Caddy with only its admin API, on a Unix socket in the data dir
    dns       dnsmasq answering the router's hosts files

The services themselves run as `python -m services.<name>`.
"""

from __future__ import annotations

import os
import sys

from app.deploy.prepare import prepare
from app.deploy.role_files import NATS_CONFIG, role_dir
from app.deploy.settings import DeploySettings
from app.embedded.parts import dnsmasq_argv, prepare_caddy
from app.embedded.process import find_binary
from shared.config import CellConfig

PARTS = ("prepare", "nats", "caddy", "dns")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PARTS:
        print(f"usage: python -m app.deploy {{{','.join(PARTS)}}}", file=sys.stderr)
        return 2
    settings = DeploySettings()
    part = argv[0]
    if part == "prepare":
        try:
            for line in prepare(settings):
                print(f"prepare: {line}", flush=True)
        except ValueError as exc:
            print(f"prepare: error: {exc}", file=sys.stderr, flush=True)
            return 1
        return 0
    if part == "nats":
        # Its own folder: the nats container mounts no other secret (role_files.py).
        config = role_dir(settings.data_dir, "nats") / NATS_CONFIG
        command = [find_binary("nats-server"), "--config", str(config)]
        env = dict(os.environ)
    elif part == "caddy":
        setup = prepare_caddy(settings.caddy_dir)
        command, env = setup.argv, setup.env
    else:
        domain = CellConfig.load(settings.data_dir).domain
        command = dnsmasq_argv(settings.dns_port, settings.hostsdir, domain, settings.dns_listen)
        env = dict(os.environ)
    os.execvpe(command[0], command, env)  # noqa: S606 (the part replaces this process)
    return 0  # not reached: execvpe does not return


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
