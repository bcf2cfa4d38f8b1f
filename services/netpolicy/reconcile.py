"""One reconciliation: bring the cell's chains, rules and tables back to what the installed
services need. Services in the middle of an operation are left as they are; a service whose
policy cannot be computed (a broken manifest, an instance the config lost) is reported as a
problem and left as it is too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.netpolicy.iptables import ChainTable, Rule, owner_of
from services.netpolicy.manager import NetpolicyManager, is_base
from services.netpolicy.names import tables
from services.netpolicy.policy import DEFAULT, ServicePolicy, private_returns, service_policy
from services.netpolicy.routing import IpRule, service_rules
from shared.config import CellConfig
from shared.errors import PicStoreError
from shared.events.messages import Correction, ServiceState
from shared.installed import ServiceRecord
from shared.manifest import parse_manifest

BUSY = (ServiceState.installing, ServiceState.reconfiguring, ServiceState.removing)


@dataclass
class Report:
    policies: dict[str, ServicePolicy] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    corrections: list[Correction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def note(self, kind: str, service_id: str, what: str) -> None:
        self.counts[kind] += 1
        self.corrections.append(Correction(service_id=service_id, what=what))

    @property
    def changed(self) -> bool:
        return bool(self.corrections)


def desired(
    manager: NetpolicyManager, records: Mapping[str, ServiceRecord], config: CellConfig
) -> tuple[dict[str, ServicePolicy], dict[str, str | None], list[str]]:
    """(policies of installed services, busy service -> its IP, problems)."""
    policies: dict[str, ServicePolicy] = {}
    busy: dict[str, str | None] = {}
    problems = []
    for sid, record in sorted(records.items()):
        if record.state in BUSY:
            busy[sid] = manager.in_flight.get(sid, (record.service_ip, DEFAULT))[0]
            continue
        manager.in_flight.pop(sid, None)
        if record.state is not ServiceState.installed or not record.manifest:
            continue
        try:
            manifest = parse_manifest(record.manifest, manager.options(config))
            policies[sid] = service_policy(
                sid, manifest, record.service_ip, record.addresses, record.egress,
                config.netpolicy,
            )  # fmt: skip
        except (PicStoreError, ValueError) as exc:
            problems.append(f"{sid}: {getattr(exc, 'message', str(exc))}")
            busy[sid] = record.service_ip  # leave what it has
    for sid, (ip, _) in manager.in_flight.items():
        if sid not in records:  # asked by a step, not yet in the services bucket
            busy[sid] = ip
    return policies, busy, problems


async def reconcile_once(manager: NetpolicyManager, records: Mapping[str, ServiceRecord]) -> Report:
    config = manager.config()
    numbers = tables(manager.cell, config.netpolicy)
    policies, busy, problems = desired(manager, records, config)
    report = Report(policies, problems=problems)
    async with manager.lock:
        await _chain(
            report, manager.filter, busy, [r for p in policies.values() for r in p.firewall]
        )
        redirects = [r for p in policies.values() for r in p.redirects]
        await _chain(report, manager.nat, busy, redirects, base=private_returns())
        used = {p.egress for p in policies.values()} | {
            choice for sid, (_, choice) in manager.in_flight.items() if sid in busy
        }
        for kind, table in numbers.items():
            instance = config.netpolicy.instance(kind) if kind in used else None
            for change in await manager.routing.sync_table(table, instance):
                report.note(change, "", f"{kind} table {table}: {change.replace('_', ' ')}")
        await _ip_rules(report, manager, policies, busy, numbers)
    return report


async def _chain(
    report: Report,
    chain: ChainTable,
    busy: Mapping[str, object],
    wanted: list[Rule],
    base: list[Rule] | None = None,
) -> None:
    if not wanted and chain.chain not in (await chain.saved()).chains:
        return  # nothing wanted and nothing there: a host without services stays untouched
    for missing in await chain.ensure():
        report.note("chain_restored", "", f"{missing} restored")
    current = await chain.rules()
    if base is not None:
        added, _ = await chain.replace(is_base, base, first=True, current=current)
        if added:
            report.note(
                "chain_restored", "", f"{chain.table} chain {chain.chain}: own rules restored"
            )
        current = await chain.rules()

    def owns(rule: Rule) -> bool:
        owner = owner_of(rule)
        return owner is not None and owner not in busy

    wanted = list(dict.fromkeys(wanted))
    for rule in wanted:
        if rule not in current:
            report.note("rule_added", owner_of(rule) or "", f"{chain.table} rule restored")
    for rule in current:
        if owns(rule) and rule not in wanted:
            report.note("rule_removed", owner_of(rule) or "", f"{chain.table} rule removed")
    await chain.replace(owns, wanted, current=current)


async def _ip_rules(
    report: Report,
    manager: NetpolicyManager,
    policies: Mapping[str, ServicePolicy],
    busy: Mapping[str, str | None],
    numbers: Mapping[str, int],
) -> None:
    left_alone = {ip for ip in busy.values() if ip} | {
        source for sid in busy for source in manager.extra_sources.get(sid, set())
    }
    wanted: list[IpRule] = []
    for policy in policies.values():
        if policy.egress != DEFAULT and policy.ip:
            for source in policy.sources or (policy.ip,):
                wanted += service_rules(source, numbers[policy.egress], manager.routing.priorities)
    owned = [r for r in await manager.routing.rules() if r.source not in left_alone]
    by_ip = {source: sid for sid, p in policies.items() for source in (p.ip, *p.sources) if source}
    for rule in wanted:
        if rule not in owned:
            report.note(
                "ip_rule_added", by_ip.get(rule.source, ""), f"ip rule {rule.priority} restored"
            )
    for rule in owned:
        if rule not in wanted:
            report.note(
                "ip_rule_removed", by_ip.get(rule.source, ""), f"ip rule {rule.priority} removed"
            )
    await manager.routing.set_rules(wanted, owned)
