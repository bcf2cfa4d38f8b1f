"""The netpolicy's verbs: a service's firewall rules and egress set (apply) or taken away
(withdraw), in the host's tables; `reconcile` compares them all with the installed services.

Every request is checked again here, whoever checked it before: the manifest is parsed with
the cell's rules, the rules may open only the service's own addresses, the egress choice must
be one the manifest allows and the cell config describes. Nothing changes before all of that
holds. Changes never interleave: one lock per process (one netpolicy per host).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from services.netpolicy.errors import InvalidPolicyError
from services.netpolicy.iptables import ChainTable, Rule, owner_of, tag_of
from services.netpolicy.metrics import RULES_APPLIED
from services.netpolicy.names import TAG, chain_name, priorities, tables
from services.netpolicy.policy import DEFAULT, ServicePolicy, private_returns, service_policy
from services.netpolicy.routing import IpRule, Routing, service_rules
from services.netpolicy.runner import Runner
from shared.config import CellConfig
from shared.events import StepRequest
from shared.manifest import ValidationOptions, parse_manifest

log = structlog.get_logger("netpolicy")
LoadConfig = Callable[[], CellConfig]
Options = Callable[[CellConfig], ValidationOptions]


def is_base(rule: Rule) -> bool:
    return tag_of(rule) == TAG


class NetpolicyManager:
    def __init__(self, runner: Runner, cell: str, config: LoadConfig, options: Options) -> None:
        self.cell = cell
        self.chain = chain_name(cell)
        self.filter = ChainTable(runner, "filter", self.chain)
        self.nat = ChainTable(runner, "nat", self.chain)
        self.routing = Routing(runner, priorities(cell))
        self.config = config
        self.options = options
        self.lock = asyncio.Lock()
        # Service -> (IP, egress choice) its steps set, for services not yet (or no longer)
        # installed: what a reconcile must leave alone while their operation runs.
        self.in_flight: dict[str, tuple[str | None, str]] = {}
        # Service -> the other cell-network addresses (sidecars) its egress step governs.
        self.extra_sources: dict[str, set[str]] = {}

    # -- steps ----------------------------------------------------------------------------

    def policy_of(self, request: StepRequest, config: CellConfig) -> ServicePolicy:
        sid, payload = request.service_id, request.payload
        manifest = parse_manifest(payload.manifest, self.options(config))
        if manifest.id != sid:
            raise InvalidPolicyError(f"the manifest is of {manifest.id!r}, not {sid!r}")
        return service_policy(
            sid, manifest, payload.service_ip, payload.addresses, payload.egress, config.netpolicy
        )

    async def apply_firewall(self, request: StepRequest) -> dict[str, str]:
        policy = self.policy_of(request, self.config())  # every check before anything changes
        async with self.lock:
            await self.filter.ensure()
            added, removed = await self.filter.replace(
                lambda r: owner_of(r) == policy.service_id, policy.firewall
            )
        RULES_APPLIED.labels("filter").inc(added + removed)
        return {"rules": str(len(policy.firewall)), "chain": self.chain}

    async def apply_egress(self, request: StepRequest) -> dict[str, str]:
        config = self.config()
        policy = self.policy_of(request, config)  # every check before anything changes
        numbers = tables(self.cell, config.netpolicy)
        async with self.lock:
            await self._set_egress(policy, config, numbers)
        return {"egress": policy.egress}

    async def _set_egress(
        self, policy: ServicePolicy, config: CellConfig, numbers: Mapping[str, int]
    ) -> None:
        sid, ip = policy.service_id, policy.ip
        previous_ip = self.in_flight.get(sid, (None, DEFAULT))[0]
        previous = self.extra_sources.get(sid, set())
        self.in_flight[sid] = (ip, policy.egress)
        self.extra_sources[sid] = set(policy.sources) - {ip} if ip else set()
        wanted: list[IpRule] = []
        if policy.egress != DEFAULT and ip is not None:
            instance = config.netpolicy.instance(policy.egress)
            table = numbers[policy.egress]
            await self.routing.sync_table(table, instance)  # the blackhole before the rules
            for source in policy.sources or (ip,):
                wanted += service_rules(source, table, self.routing.priorities)
        await self.nat.ensure()
        await self.nat.replace(is_base, private_returns(), first=True)
        added, removed = await self.nat.replace(lambda r: owner_of(r) == sid, policy.redirects)
        mine = {a for a in (ip, previous_ip, *previous, *policy.sources) if a}
        owned = [rule for rule in await self.routing.rules() if rule.source in mine]
        more, fewer = await self.routing.set_rules(wanted, owned)
        RULES_APPLIED.labels("nat").inc(added + removed)
        RULES_APPLIED.labels("rule").inc(more + fewer)

    async def withdraw_firewall(self, service_id: str) -> dict[str, str]:
        """Take the service's firewall rules away; what is already gone is fine."""
        async with self.lock:
            _, removed = await self.filter.replace(lambda r: owner_of(r) == service_id, [])
        RULES_APPLIED.labels("filter").inc(removed)
        return {"removed": str(removed)}

    async def withdraw_egress(self, service_id: str, ip: str | None) -> dict[str, str]:
        """Take the service's egress rules and routing away; what is already gone is fine."""
        async with self.lock:
            remembered = self.in_flight.pop(service_id, (None, DEFAULT))[0]
            extra = self.extra_sources.pop(service_id, set())
            _, removed = await self.nat.replace(lambda r: owner_of(r) == service_id, [])
            mine = {a for a in (ip, remembered, *extra) if a}
            owned = [rule for rule in await self.routing.rules() if rule.source in mine]
            _, fewer = await self.routing.set_rules([], owned)
            RULES_APPLIED.labels("nat").inc(removed)
            RULES_APPLIED.labels("rule").inc(fewer)
        return {"removed": str(removed + fewer)}

    # -- the whole host -------------------------------------------------------------------

    async def clear(self) -> None:
        """Take everything of this cell off the host: rules, chains, jumps, tables."""
        async with self.lock:
            config = self.config()
            await self.routing.set_rules([], await self.routing.rules())
            for table in tables(self.cell, config.netpolicy).values():
                await self.routing.sync_table(table, None)
            await self.filter.remove_jump_and_chain()
            await self.nat.remove_jump_and_chain()
            self.in_flight.clear()
            self.extra_sources.clear()
