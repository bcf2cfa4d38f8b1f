"""Issue #19, finding 7: one service cannot stop accounts for all. A container that answers
garbage (an htpasswd file that is not text, a bogus Content-Encoding, an answer that never
ends) fails that service's accounts with the reason; every other service still gets its
accounts, and nothing waits on it longer than a call's timeout."""

from __future__ import annotations

import functools
import time

import pytest

from shared.peer_client import add_peer
from tests.accounts.helpers import (
    accounts_log,
    accounts_metrics,
    build_demo,
    bus_client,
    demo_service,
    started_with,
    usernames,
)
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker
from tests.parts.eventually import eventually
from tests.parts.images import build_image, push

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="session")
def demo_image(registry_host: str) -> str:
    return build_demo(registry_host)


# The demo's account API until /tmp/hostile names a way to misbehave; /healthz stays fine.
HOSTILE = r"""#!/bin/sh
[ -f /tmp/hostile ] || exec /serve.sh
read -r method target _
while read -r line; do line=$(printf '%s' "$line" | tr -d '\r'); [ -z "$line" ] && break; done
head='HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n'
case "$target" in /healthz) printf "${head}\r\nok"; exit 0 ;; esac
case "$(cat /tmp/hostile)" in
    encoding) printf "${head}Content-Encoding: gzip\r\n\r\n[\"not gzip at all\"]" ;;
    endless) printf "${head}\r\n[\""; exec /bin/busybox yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ;;
esac
"""
REASONS = {
    "garbage": "is not UTF-8 text",
    "encoding": "Content-Encoding 'gzip'",
    "endless": "more than",
}


@functools.cache
def hostile_image(registry_host: str) -> str:
    tag = build_image(
        "pic-store-test/accounts-hostile:1",
        "FROM pic-store-test/accounts-demo:1\nCOPY hostile.sh /hostile.sh\n"
        "RUN chmod 0755 /hostile.sh\n"
        'ENTRYPOINT ["/bin/sh", "-c", "mkdir -p /data/accounts; exec nc -ll -p 8080 -e '
        '/hostile.sh"]\n',
        {"hostile.sh": HOSTILE},
    )
    return push(tag, f"{registry_host}/roof/accounts-hostile:1")


@pytest.mark.parametrize("hostility", ["garbage", "encoding", "endless"])
async def test_a_hostile_container_fails_its_own_accounts_only(
    stack_factory, demo_image, registry_host, tmp_path, hostility
) -> None:  # type: ignore[no-untyped-def]
    bad, good = f"a{service_id()}", f"b{service_id()}"
    if hostility == "garbage":
        hostile = demo_service(bad, demo_image, manager="htpasswd", file="/data/htpasswd")
    else:
        hostile = demo_service(bad, hostile_image(registry_host))
    stack, store, bus = await started_with(
        stack_factory, tmp_path, [hostile, demo_service(good, demo_image)]
    )
    for sid in (bad, good):  # the hostile one first: the accounts service meets it first
        result = await install(bus_client(bus), store, sid)
        assert result.payload.status == "succeeded", result.payload.message
    if hostility == "garbage":
        docker("exec", f"cell-{bad}", "sh", "-c", r"printf 'x\377\376:y\n' > /data/htpasswd")
    else:
        docker("exec", f"cell-{bad}", "sh", "-c", f"echo {hostility} > /tmp/hostile")

    began = time.monotonic()
    await add_peer(bus, "bob")

    async def good_has_bob() -> bool:
        try:
            return usernames(stack, good) == ["bob"]
        except Exception:  # not there yet
            return False

    await eventually(good_has_bob, 10, what="the other service's account for bob")
    assert time.monotonic() - began < 10

    async def reason_reported() -> bool:
        return any(
            "accounts_not_in_line" in line and bad in line and REASONS[hostility] in line
            for line in accounts_log(stack).splitlines()
        )

    await eventually(reason_reported, 10, what=f"the reason for {bad} in the log")
    assert f'pic_accounts_service_failing{{service="{bad}"}} 1.0' in accounts_metrics(stack)
    assert f'pic_accounts_service_failing{{service="{good}"}} 0.0' in accounts_metrics(stack)
    await bus.close()
