"""`pic-store up`: run the embedded stack in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from app.embedded import preflight
from app.embedded.api_token import api_token_path
from app.embedded.stack import STOP_PARTS, STOP_SERVICES, EmbeddedStack, available_services
from app.embedded.supervisor import Supervisor
from shared.config import CellConfig, VerificationMode
from shared.errors import PicStoreError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the embedded stack (NATS, registry, Caddy, the services) here",
        description="Start nats-server (JetStream), a local registry, Caddy and every "
        "pic-store service on loopback, in the foreground. Ctrl-C stops them all.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/pic"),
        help="where state, logs and service files live (default var/pic)",
    )
    parser.add_argument("--cell", default="cell", help="the cell's name (default 'cell')")
    parser.add_argument("--domain", default="cell.pic.test", help="the cell's domain")
    parser.add_argument("--nats-port", type=int, default=4222)
    parser.add_argument("--registry-port", type=int, default=5050)
    parser.add_argument("--dns-port", type=int, default=5354)
    parser.add_argument(
        "--install-example",
        action="store_true",
        help="publish and install the example Notes service once started",
    )
    parser.set_defaults(func=run)


HTTP_LISTEN = "127.0.0.1:8480"


def _first_config(args: argparse.Namespace, stack: EmbeddedStack) -> None:
    """The embedded cell's config, written once: local registry, Caddy on loopback, dnsmasq,
    and local stores allowed (a development cell)."""
    path = args.data_dir / "config" / "api" / "cell_config.json"
    if path.exists():
        return
    CellConfig.model_validate(
        {
            "cell_name": args.cell,
            "domain": args.domain,
            "cell_address": "127.0.0.1",
            "allowed_image_prefix": f"{stack.registry}/roof/",
            # `--install-example` (and `make run`) install the example from the repository folder.
            "allow_local_stores": True,
            # The VPN peers' network the services' firewall rules accept from.
            "netpolicy": {"vpn_subnet": "10.8.0.0/24"},
            "image_verification": {
                "mode": VerificationMode.warn,
                "insecure_registries": [stack.registry],
            },
            "router": {
                "listen": [HTTP_LISTEN],
                "tls": "off",
                "upstream_mode": "ip",
                "dns": {
                    "backend": "hostsdir",
                    "hostsdir": "dns/hosts.d",
                    "server": "127.0.0.1",
                    "port": stack.dns_port,
                },
            },
        }
    ).write(args.data_dir)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    # SIGTERM stops it as Ctrl-C does, in order, whenever it comes (not only once started).
    before = signal.signal(signal.SIGTERM, _interrupted)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, before)


def _run(args: argparse.Namespace) -> int:
    args.data_dir = args.data_dir.resolve()
    stack = EmbeddedStack(
        args.data_dir,
        args.cell,
        args.nats_port,
        args.registry_port,
        args.dns_port,
        say=lambda text: print(text, flush=True),
    )
    _first_config(args, stack)
    missing = list(preflight.problems(_ports(args, stack), args.data_dir))
    if missing:
        for line in missing:
            print(f"pic-store up: {line}", file=sys.stderr)
        return EXIT_INVALID
    try:
        stack.start()
    except PicStoreError as exc:
        stack.stop()
        return fail(exc.message)
    except BaseException:
        stack.stop()
        raise
    for name, process in stack.processes.items():
        where = f"127.0.0.1:{process.port}" if process.port else "unix socket"
        print(f"  {name:<16} {where:<16} pid {process.pid}   log {process.log_path}")
    print(f"pic-store is up: cell {args.cell}, NATS {stack.nats_url}, data {args.data_dir}")
    # The path only: the token itself would stay in the terminal's scroll-back.
    token_file = api_token_path(args.data_dir)
    gateway = f"http://127.0.0.1:{stack.service_port('gateway')}"
    print(
        f"  gateway API {gateway} (its OpenAPI document: {gateway}/openapi.json): send "
        f"`Authorization: Bearer <token>`, the token in {token_file}"
    )
    print(f"  admin page {gateway}/ui/ (it asks for that token)")
    print(
        f"  services answer at http://{stack.config().router.listen[0]} "
        f"(Host: <subdomain>.{stack.config().domain}); "
        f"DNS at 127.0.0.1:{stack.dns_port}",
        flush=True,
    )
    supervisor = Supervisor(stack.processes, say=lambda text: print(text, flush=True)).start()
    try:
        if args.install_example:
            from app.embedded.example import install_example

            code = install_example(stack)
            if code != EXIT_OK:
                return code
        print("Ctrl-C stops the stack.", flush=True)
        asyncio.run(_wait_for_signal())
    finally:
        print(f"pic-store up: stopping (at most {STOP_SERVICES + STOP_PARTS:.0f} s)", flush=True)
        supervisor.halt()
        stack.stop()
        supervisor.stop()
    return EXIT_OK


def _ports(args: argparse.Namespace, stack: EmbeddedStack) -> dict[str, int]:
    """Every TCP port the stack is about to listen on, by what listens."""
    ports = {"nats": args.nats_port, "registry": args.registry_port, "dns": args.dns_port}
    for name in available_services():
        ports[name] = stack.service_port(name)
    for address in stack.config().router.listen:
        host, _, port = address.rpartition(":")
        if port.isdigit() and host in {"", "127.0.0.1", "localhost", "0.0.0.0"}:
            ports["router listen"] = int(port)
    return ports


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
