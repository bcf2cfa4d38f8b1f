"""Policy routing of the services' outbound traffic, with iproute2.

Per service with a non-default egress, two rules at the cell's priorities:

    <p1>: from <service ip> lookup main suppress_prefixlength 0   (the host's own networks)
    <p2>: from <service ip> lookup <the instance's table>

and per instance one table: `blackhole default metric 4000` always (the kill switch: nothing
from the service ever falls through to the host's default route), plus `default dev <iface>
[via <gateway>]` while the interface is up. Endpoint instances (tor, proxy) have the blackhole
only: their TCP is redirected before routing, everything else is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.netpolicy.runner import Runner
from shared.netconfig import EgressInstance

BLACKHOLE_METRIC = "4000"


@dataclass(frozen=True)
class IpRule:
    priority: int
    source: str
    table: str  # "main" for the suppressing rule

    def argv(self, verb: str) -> list[str]:
        extra = ["suppress_prefixlength", "0"] if self.table == "main" else []
        return [
            "ip", "-4", "rule", verb, "from", self.source, "lookup", self.table, *extra,
            "priority", str(self.priority),
        ]  # fmt: skip


def service_rules(ip: str, table: int, priorities: tuple[int, int]) -> list[IpRule]:
    return [IpRule(priorities[0], ip, "main"), IpRule(priorities[1], ip, str(table))]


class Routing:
    def __init__(self, runner: Runner, priorities: tuple[int, int]) -> None:
        self.runner = runner
        self.priorities = priorities

    async def rules(self) -> list[IpRule]:
        """The rules at the cell's priorities."""
        out = []
        for row in await self.runner.json(["ip", "-4", "-j", "rule", "show"]):
            if row.get("priority") in self.priorities and "src" in row:
                out.append(IpRule(int(row["priority"]), str(row["src"]), str(row["table"])))
        return out

    async def set_rules(self, wanted: list[IpRule], owned: list[IpRule]) -> tuple[int, int]:
        """Add the wanted rules that are missing, then delete the owned ones not wanted."""
        add = [rule for rule in wanted if rule not in owned]
        remove = [rule for rule in owned if rule not in wanted]
        for rule in sorted(add, key=lambda r: -r.priority):  # the instance table first
            await self.runner.run(rule.argv("add"))
        for rule in remove:
            await self.runner.run(rule.argv("del"), check=False)
        return len(add), len(remove)

    async def interface_up(self, name: str) -> bool:
        rows = await self.runner.json(["ip", "-j", "link", "show"])
        for row in rows:
            if row.get("ifname") == name:
                flags = row.get("flags", [])
                return "UP" in flags and "NO-CARRIER" not in flags
        return False

    async def sync_table(self, table: int, instance: EgressInstance | None) -> list[str]:
        """Make the table the instance's (None: empty it); what it changed, in words."""
        routes = await self.runner.json(
            ["ip", "-4", "-j", "route", "show", "table", str(table)], check=False
        )
        changes = []
        blackhole = any(r.get("type") == "blackhole" for r in routes)
        via = [
            r for r in routes if r.get("type", "unicast") == "unicast" and r.get("dst") == "default"
        ]
        if instance is None:
            if routes:
                await self.runner.run(["ip", "-4", "route", "flush", "table", str(table)])
                changes.append("table_flushed")
            return changes
        if not blackhole:
            await self.runner.run(
                ["ip", "-4", "route", "replace", "blackhole", "default", "metric",
                 BLACKHOLE_METRIC, "table", str(table)]
            )  # fmt: skip
            changes.append("blackhole_restored")
        up = instance.interface is not None and await self.interface_up(instance.interface)
        right = [
            r for r in via
            if r.get("dev") == instance.interface and r.get("gateway") == instance.gateway
        ]  # fmt: skip
        if up and (not right or len(via) != 1):
            argv = ["ip", "-4", "route", "replace", "default"]
            if instance.gateway:
                argv += ["via", instance.gateway]
            await self.runner.run([*argv, "dev", str(instance.interface), "table", str(table)])
            changes.append("route_restored")
        elif not up and via:
            for route in via:
                await self.runner.run(
                    ["ip", "-4", "route", "del", "default", "dev", str(route.get("dev")),
                     "table", str(table)], check=False,
                )  # fmt: skip
            changes.append("route_withdrawn")
        return changes
