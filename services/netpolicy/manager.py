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
from services.netpolicy.metrics import RULES_APPLIED, STEPS
from services.netpolicy.names import TAG, chain_name, priorities, tables
from services.netpolicy.policy import DEFAULT, ServicePolicy, private_returns, service_policy
from services.netpolicy.routing import IpRule, Routing, service_rules
from services.netpolicy.runner import Runner
from shared.config import CellConfig
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.messages import StepAction, StepResultPayload
from shared.manifest import ValidationOptions, parse_manifest
from shared.steps import StepName

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

    async def handle(self, request: StepRequest) -> StepResultPayload:
        step, action = request.payload.step, request.payload.action
        try:
            if step not in (StepName.firewall, StepName.egress):
                raise InvalidPolicyError(f"the netpolicy does not handle the {step.value} step")
            if action is StepAction.apply:
                details = await self.apply(request)
            else:
                details = await self.withdraw(step, request.service_id, request.payload.service_ip)
        except PicStoreError as exc:
            return self._failed(request, exc.message, exc.key)
        except Exception as exc:  # a bug: fail the step rather than leave the saga waiting
            log.exception("step_crashed", step=step.value, action=action.value)
            return self._failed(request, f"internal error ({type(exc).__name__})", "internal_error")
        STEPS.labels(step.value, action.value, "ok").inc()
        log.info("step_done", step=step.value, action=action.value, **details)
        return StepResultPayload(step=step, action=action, ok=True, details=details)

    def policy_of(self, request: StepRequest, config: CellConfig) -> ServicePolicy:
        sid, payload = request.service_id, request.payload
        manifest = parse_manifest(payload.manifest, self.options(config))
        if manifest.id != sid:
            raise InvalidPolicyError(f"the manifest is of {manifest.id!r}, not {sid!r}")
        return service_policy(
            sid, manifest, payload.service_ip, payload.addresses, payload.egress, config.netpolicy
        )

    async def apply(self, request: StepRequest) -> dict[str, str]:
        config = self.config()
        policy = self.policy_of(request, config)  # every check before anything changes
        numbers = tables(self.cell, config.netpolicy)
        async with self.lock:
            if request.payload.step is StepName.firewall:
                await self.filter.ensure()
                added, removed = await self.filter.replace(
                    lambda r: owner_of(r) == policy.service_id, policy.firewall
                )
                RULES_APPLIED.labels("filter").inc(added + removed)
                return {"rules": str(len(policy.firewall)), "chain": self.chain}
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

    async def withdraw(self, step: StepName, service_id: str, ip: str | None) -> dict[str, str]:
        """Take the step's rules of the service away; what is already gone is fine."""
        async with self.lock:
            if step is StepName.firewall:
                _, removed = await self.filter.replace(lambda r: owner_of(r) == service_id, [])
                RULES_APPLIED.labels("filter").inc(removed)
                return {"removed": str(removed)}
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

    def _failed(self, request: StepRequest, reason: str, key: str) -> StepResultPayload:
        payload = request.payload
        STEPS.labels(payload.step.value, payload.action.value, "failed").inc()
        log.warning(
            "step_failed", step=payload.step.value, action=payload.action.value, reason=reason,
            key=key, service_id=request.service_id,
        )  # fmt: skip
        return StepResultPayload(step=payload.step, action=payload.action, ok=False, reason=reason)
