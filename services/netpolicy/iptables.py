"""pic-store's own chain in one iptables table: read, created, jumped to, and a service's rules
replaced in one `iptables-restore --noflush` transaction (all of them or none).

A rule is the tuple of its tokens after `-A <chain>`, as iptables-save prints them once
unquoted, so rules compare equal however the comment was quoted. Nothing outside the chain is
touched but the one jump to it (and, where no Docker made it, `DOCKER-USER` and its jump from
`FORWARD`, as Docker makes them).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.netpolicy.names import service_of_tag
from services.netpolicy.runner import Runner

Rule = tuple[str, ...]
DOCKER_USER = "DOCKER-USER"
# Where each table's chain is jumped from: (parent, parent's own parent or None).
PARENTS = {"filter": (DOCKER_USER, "FORWARD"), "nat": ("PREROUTING", None)}


def tag_of(rule: Rule) -> str | None:
    if "--comment" in rule:
        index = rule.index("--comment") + 1
        return rule[index] if index < len(rule) else None
    return None


def owner_of(rule: Rule) -> str | None:
    tag = tag_of(rule)
    return service_of_tag(tag) if tag else None


@dataclass(frozen=True)
class Saved:
    chains: frozenset[str]
    rules: dict[str, list[Rule]]  # chain -> its rules, in order

    def of(self, chain: str) -> list[Rule]:
        return self.rules.get(chain, [])


def parse_save(text: str) -> Saved:
    chains: set[str] = set()
    rules: dict[str, list[Rule]] = {}
    for line in text.splitlines():
        if line.startswith(":"):
            chains.add(line[1:].split(" ", 1)[0])
        elif line.startswith("-A "):
            tokens = shlex.split(line)
            rules.setdefault(tokens[1], []).append(tuple(tokens[2:]))
    return Saved(frozenset(chains), rules)


class ChainTable:
    """The cell's chain in one table (`filter` or `nat`)."""

    def __init__(self, runner: Runner, table: str, chain: str) -> None:
        self.runner = runner
        self.table = table
        self.chain = chain

    async def saved(self) -> Saved:
        return parse_save(await self.runner.run(["iptables-save", "-t", self.table]))

    async def rules(self) -> list[Rule]:
        return (await self.saved()).of(self.chain)

    async def ensure(self) -> list[str]:
        """Create the chain and its jump when missing; what was missing, in words."""
        saved = await self.saved()
        parent, grandparent = PARENTS[self.table]
        lines, missing = [], []
        for chain in (parent, self.chain):
            if chain not in saved.chains:
                lines.append(f":{chain} - [0:0]")  # only when absent: a declared chain is emptied
                missing.append(f"{self.table} chain {chain}")
        if grandparent and ("-j", parent) not in saved.of(grandparent):
            lines.append(f"-I {grandparent} 1 -j {parent}")
            missing.append(f"{self.table} jump {grandparent} -> {parent}")
        if ("-j", self.chain) not in saved.of(parent):
            lines.append(f"-I {parent} 1 -j {self.chain}")
            missing.append(f"{self.table} jump {parent} -> {self.chain}")
        if lines:
            await self._restore(lines)
        return missing

    async def replace(
        self,
        owns: Callable[[Rule], bool],
        wanted: Sequence[Rule],
        first: bool = False,
        current: list[Rule] | None = None,
    ) -> tuple[int, int]:
        """Make the chain's rules that `owns` picks exactly `wanted`, in one transaction;
        `first`: new rules go to the top of the chain. Returns (added, removed)."""
        have = await self.rules() if current is None else current
        mine = [rule for rule in have if owns(rule)]
        remove = [rule for rule in mine if rule not in wanted]
        add = [rule for rule in wanted if rule not in mine]
        lines = [f"-D {self.chain} {shlex.join(rule)}" for rule in remove]
        if first:
            lines += [f"-I {self.chain} 1 {shlex.join(rule)}" for rule in reversed(add)]
        else:
            lines += [f"-A {self.chain} {shlex.join(rule)}" for rule in add]
        if lines:
            await self._restore(lines)
        return len(add), len(remove)

    async def remove_jump_and_chain(self) -> None:
        """Take the chain out of the table (nothing of it left): its jump, then itself."""
        saved = await self.saved()
        if self.chain not in saved.chains:
            return
        parent, _ = PARENTS[self.table]
        lines = [f"-D {parent} -j {self.chain}"] * saved.of(parent).count(("-j", self.chain))
        lines += [f"-F {self.chain}", f"-X {self.chain}"]
        await self._restore(lines)

    async def _restore(self, lines: list[str]) -> None:
        text = "\n".join([f"*{self.table}", *lines, "COMMIT", ""])
        await self.runner.run(["iptables-restore", "--noflush"], stdin=text)
