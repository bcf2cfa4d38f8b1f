"""The cost of adding one route to Caddy with 10 and with 500 routes installed.

Our client's side of an add is one request of constant size (PUT .../routes/0), whatever the
number of routes: that is asserted. Caddy's side is not constant: every admin API change makes
Caddy decode and provision its whole config again, so the wall time grows with the routes
installed. To keep the two apart, each add is timed beside the bare Caddy request it amounts
to, made with a plain HTTP client; our overhead over it must not grow with the routes.
Beside both, Caddy's floor: the smallest change its admin API takes (one string of the 404
route's body), which costs as much as a route add and grows the same way.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from services.router.caddy import FALLBACK_ID, CaddyAdmin, fallback_route
from services.router.routes import Route, build_route
from tests.router.conftest import CaddyRunner

pytestmark = pytest.mark.slow

ADDS = 20


def route(i: int) -> Route:
    return build_route(f"s{i}", f"s{i}.cell.test", f"cell-s{i}:8080", 0)


async def install(caddy: CaddyRunner, admin: CaddyAdmin, count: int) -> None:
    """Set up `count` routes in one request: set-up, not what is measured."""
    routes = [route(i) for i in range(count)] + [fallback_route()]
    async with caddy.raw_client() as client:
        path = f"/config/apps/http/servers/{admin.server}/routes"
        (await client.patch(path, json=routes)).raise_for_status()
    assert len(await admin.list_routes()) == count + 1


async def time_adds(admin: CaddyAdmin, bare: httpx.AsyncClient) -> dict[str, float]:
    sent: list[int] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(len(request.content))

    admin._http.event_hooks["request"].append(on_request)  # observe the wire, change nothing
    ours, raw = [], []
    for k in range(ADDS):
        new = route(100_000 + k)
        sent.clear()
        start = time.perf_counter()
        await admin.add_route(new)
        ours.append(time.perf_counter() - start)
        requests, size = len(sent), sum(sent)
        await admin.remove_route(new["@id"])

        start = time.perf_counter()
        answer = await bare.put(f"/config/apps/http/servers/{admin.server}/routes/0", json=new)
        raw.append(time.perf_counter() - start)
        answer.raise_for_status()
        await admin.remove_route(new["@id"])
    admin._http.event_hooks["request"].remove(on_request)
    return {
        "ours": statistics.median(ours) * 1000,
        "bare": statistics.median(raw) * 1000,
        "floor": await time_smallest_change(bare),
        "requests": requests,
        "bytes": size,
    }


async def time_smallest_change(bare: httpx.AsyncClient) -> float:
    """Median ms of changing one short string; Caddy skips a change that changes nothing."""
    took = []
    for k in range(ADDS):
        start = time.perf_counter()
        answer = await bare.patch(f"/id/{FALLBACK_ID}/handle/0/body", json=f"none {k % 2}\n")
        took.append(time.perf_counter() - start)
        answer.raise_for_status()
    return statistics.median(took) * 1000


async def test_adding_a_route_costs_the_same_request_with_10_and_500_routes(
    caddy: CaddyRunner, admin: CaddyAdmin
) -> None:
    await admin.ensure_server()
    results = {}
    async with caddy.raw_client() as bare:
        for count in (10, 500):
            await install(caddy, admin, count)
            results[count] = await time_adds(admin, bare)

    small, large = results[10], results[500]
    print(f"\nrouter: add one route, median of {ADDS} adds (each removed afterwards)")
    for count, r in results.items():
        print(
            f"  {count:>3} routes: {r['ours']:7.2f} ms  (bare Caddy request {r['bare']:7.2f} ms;"
            f" Caddy's smallest change {r['floor']:7.2f} ms;"
            f" {r['requests']:.0f} request of {r['bytes']:.0f} bytes)"
        )
    print(
        f"  ratio 500/10: {large['ours'] / small['ours']:.2f}"
        f"  (bare Caddy: {large['bare'] / small['bare']:.2f}; smallest change:"
        f" {large['floor'] / small['floor']:.2f}: Caddy re-provisions its whole config on"
        " every change)"
    )
    overhead = large["ours"] / large["bare"]
    print(f"  our client over the bare request at 500 routes: {overhead:.2f}")

    assert small["requests"] == large["requests"] == 1
    assert small["bytes"] == large["bytes"]  # nothing is sent that grows with the routes
    assert overhead < 3, "the client adds a cost of its own that grows with the routes"
    assert large["ours"] < 2 * large["floor"], "an add costs more than Caddy's smallest change"
