"""Accounts through the real installer, the real accounts service, NATS, Docker and the demo
image of examples/store: every peer gets an account that logs in with its rendered config."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.accounts.state import State
from shared.bus import Bus
from shared.events import Message
from shared.events.peers import PeerAction
from shared.events.roles import ROLES
from shared.peer_client import PeerRequestError, add_peer, ask_peer, remove_peer
from tests.accounts.helpers import bus_client, configs, logs_in, started, usernames
from tests.installer.helpers import containers_of, install, remove
from tests.parts.docker_engine import docker
from tests.parts.eventually import eventually
from tests.parts.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@contextlib.asynccontextmanager
async def recorded(bus: Bus) -> AsyncIterator[list[str]]:
    """Every message the admin may see on the bus while the block runs, as JSON."""
    seen: list[str] = []

    async def keep(message: Message) -> None:
        seen.append(message.model_dump_json())

    async with contextlib.AsyncExitStack() as watches:
        for channel, tokens in ROLES["admin"].watch:
            await watches.enter_async_context(bus.watch(channel, keep, **tokens))
        yield seen


async def state_of(stack: Stack, sid: str) -> tuple[list[str], list[str]]:
    """The accounts state about one service: its target, its account keys."""
    bus = await stack.bus("accounts", name="look")
    try:
        state = await State.open(bus)
        targets = [k for k in await state.targets.keys() if k == sid]
        accounts = [k for k in await state.accounts.keys() if k.startswith(f"{sid}.")]
    finally:
        await bus.close()
    return targets, accounts


async def test_peers_get_accounts_that_log_in_and_lose_them(
    stack_factory, demo_image, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    stack, sid, store, bus = await started(stack_factory, demo_image, tmp_path)
    passwords: set[str] = set()
    async with recorded(bus) as seen:
        for peer in ("alice", "bob"):
            await add_peer(bus, peer)
        await eventually(
            lambda: _peers_known(stack, {"alice", "bob"}), 10, what="the peers are known"
        )
        result = await install(bus_client(bus), store, sid)
        assert result.payload.status == "succeeded", result.payload.message
        assert usernames(stack, sid) == ["alice", "bob"]
        for peer in ("alice", "bob"):
            config = (await configs(bus, peer))[sid]
            assert config["username"] == peer
            assert config["url"] == f"https://{sid}.{stack.cell}.test/login"
            assert logs_in(stack, sid, config)
            assert not logs_in(stack, sid, {**config, "password": config["password"] + "x"})
            passwords.add(config["password"])

        await add_peer(bus, "carol")
        await eventually(
            _async(lambda: usernames(stack, sid) == ["alice", "bob", "carol"]),
            10,
            what="carol's account appears",
        )
        carol = (await configs(bus, "carol"))[sid]
        assert logs_in(stack, sid, carol)
        assert cli(stack, "list").split() == ["alice", "bob", "carol"]
        assert json.loads(cli(stack, "config", "carol")) == {sid: carol}
        passwords.add(carol["password"])

        # Wiped and restarted: the reconcile makes them again, with the same passwords.
        docker("exec", f"cell-{sid}", "sh", "-c", "rm -f /data/accounts/*")
        docker("restart", "-t", "1", f"cell-{sid}")
        await eventually(
            _async(lambda: _answers(stack, sid) == ["alice", "bob", "carol"]),
            20,
            what="the reconcile restores the wiped accounts",
        )
        assert logs_in(stack, sid, carol)

        await remove_peer(bus, "bob")
        await eventually(
            _async(lambda: usernames(stack, sid) == ["alice", "carol"]),
            10,
            what="bob's account goes",
        )
        assert logs_in(stack, sid, (await configs(bus, "alice"))[sid])
        with pytest.raises(PeerRequestError, match="no peer named 'bob'"):
            await configs(bus, "bob")

        rotated = (await ask_peer(bus, PeerAction.rotate, "carol", sid, timeout=10))[sid]
        assert rotated["password"] != carol["password"]
        assert logs_in(stack, sid, rotated) and not logs_in(stack, sid, carol)
        passwords.add(rotated["password"])

        done = await remove(bus_client(bus), sid)
        assert done.payload.status == "succeeded", done.payload.message
        assert await state_of(stack, sid) == ([], [])
        metrics = _metrics(stack)
    await bus.close()
    _no_password_anywhere(stack, sid, passwords, seen, metrics)


async def test_an_account_missed_while_the_container_was_down_is_made_once_it_is_back(
    stack_factory, demo_image, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    stack, sid, store, bus = await started(stack_factory, demo_image, tmp_path)
    result = await install(bus_client(bus), store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    docker("stop", "-t", "1", f"cell-{sid}")
    await add_peer(bus, "dave")
    await asyncio.sleep(2.5)  # reconciles come and fail while it is down
    docker("start", f"cell-{sid}")
    await eventually(
        _async(lambda: _answers(stack, sid) == ["dave"]), 20, what="dave's account appears"
    )
    assert logs_in(stack, sid, (await configs(bus, "dave"))[sid])
    await asyncio.sleep(2)  # more reconciles: none may make it again
    created = docker("logs", f"cell-{sid}").count("account created: dave")
    assert created == 1
    await bus.close()


@pytest.mark.parametrize("failure", ["garbage", "hang", "open"])
async def test_a_manager_that_answers_garbage_hangs_or_answers_anyone_fails_the_install(
    stack_factory, registry_host, tmp_path, failure
) -> None:  # type: ignore[no-untyped-def]
    image = _broken_image(registry_host, failure)
    port = {"port": 8081} if failure == "hang" else {}
    stack, sid, store, bus = await started(stack_factory, image, tmp_path, **port)
    result = await install(bus_client(bus), store, sid)
    assert result.payload.status == "failed"
    reason = {
        "garbage": "did not answer a JSON list of usernames",
        "hang": "did not answer list within 1 s",
        "open": "without pic-store's secret answered 200",
    }[failure]
    assert reason in result.payload.message
    assert containers_of(sid) == []  # rolled back
    assert await state_of(stack, sid) == ([], [])
    await bus.close()


# -- helpers -----------------------------------------------------------------------------


def cli(stack: Stack, *args: str) -> str:
    """`pic-store peers ...` as an admin would run it."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli.main",
            "peers",
            *args,
            "--nats",
            stack.nats_url,
            "--cell",
            stack.cell,
            "--nats-seed",
            str(stack.seed("admin")),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _async(check):  # type: ignore[no-untyped-def]
    async def run() -> bool:
        try:
            return bool(check())
        except (httpx.HTTPError, ValueError):
            return False

    return run


def _answers(stack: Stack, sid: str) -> list[str]:
    return usernames(stack, sid)


async def _peers_known(stack: Stack, peers: set[str]) -> bool:
    bus = await stack.bus("accounts", name="look")
    try:
        return set(await (await State.open(bus)).present_peers()) == peers
    finally:
        await bus.close()


def _metrics(stack: Stack) -> str:
    token = Path(stack.env["PIC_API_TOKEN_FILE"]).read_text().strip()
    port = stack.running("accounts").port
    response = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert "pic_accounts_manager_calls_total" in response.text
    return response.text


def _no_password_anywhere(
    stack: Stack, sid: str, passwords: set[str], seen: list[str], metrics: str
) -> None:
    assert len(passwords) == 4 and seen
    logs = "\n".join(p.log_path.read_text() for p in stack.processes if p.log_path.exists())
    for password in passwords:
        assert password not in logs, "a password is in a service's log"
        assert not any(password in message for message in seen), "a password is in an event"
        assert password not in metrics, "a password is in the metrics"


_BROKEN = {
    # GET /service-api/accounts answers a web page
    "garbage": (
        "#!/bin/sh\nmkdir -p /www/service-api\necho ok > /www/healthz\n"
        "echo '<html>hello</html>' > /www/service-api/accounts\nexec httpd -f -p 8080 -h /www\n"
    ),
    # healthy on 8080; the account API on 8081 holds every connection and never answers
    "hang": (
        "#!/bin/sh\nmkdir -p /www\necho ok > /www/healthz\nhttpd -p 8080 -h /www\n"
        "printf '#!/bin/sh\\nsleep 60\\n' > /hang.sh\nchmod +x /hang.sh\n"
        "exec nc -ll -p 8081 -e /hang.sh\n"
    ),
    # an account API that answers anyone, with or without pic-store's secret
    "open": (
        "#!/bin/sh\nmkdir -p /www/service-api\necho ok > /www/healthz\n"
        "echo '[]' > /www/service-api/accounts\nexec httpd -f -p 8080 -h /www\n"
    ),
}


def _broken_image(registry_host: str, failure: str) -> str:
    from tests.parts.images import build_base, build_image, push

    build_base()
    tag = build_image(
        f"pic-store-test/accounts-{failure}:1",
        "FROM pic-store-test/busybox:base\nCOPY entrypoint.sh /entrypoint.sh\n"
        'ENTRYPOINT ["/entrypoint.sh"]\n',
        {"entrypoint.sh": _BROKEN[failure]},
    )
    return push(tag, f"{registry_host}/roof/accounts-{failure}:1")
