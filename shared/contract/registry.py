"""Every participant of a cell: the contract modules in shared/contract/participants/, found
by looking, not by a list someone keeps. A new participant is one module there (defining
`CONTRACT`) and its service folder in services/."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from functools import cache

from shared.contract import participants as package
from shared.contract.declare import Contract, Step
from shared.manifest import Manifest

_EXTRA: list[Contract] = []  # declared outside the package: a test's own participant


def contracts() -> tuple[Contract, ...]:
    """Every declared participant, in port order."""
    return checked([*_discovered(), *_EXTRA]) if _EXTRA else _discovered()


@contextlib.contextmanager
def extended(*extra: Contract) -> Iterator[None]:
    """For a test: these contracts take part too, as if their modules were in the package
    (refused like any other when one clashes with a declared participant)."""
    checked([*_discovered(), *_EXTRA, *extra])
    _EXTRA.extend(extra)
    try:
        yield
    finally:
        del _EXTRA[len(_EXTRA) - len(extra) :]


@cache
def _discovered() -> tuple[Contract, ...]:
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        contract = getattr(module, "CONTRACT", None)
        if not isinstance(contract, Contract):
            raise TypeError(f"{module.__name__} declares no CONTRACT")
        if contract.owner != info.name:
            raise ValueError(f"{module.__name__} declares the contract of {contract.owner!r}")
        found.append(contract)
    return checked(found)


def checked(found: Iterable[Contract]) -> tuple[Contract, ...]:
    """The contracts, refused when two claim one port, one step name or one saga rank."""
    ordered = tuple(sorted(found, key=lambda c: c.port))
    problems = []
    for what, values in (
        ("owner", [c.owner for c in ordered]),
        ("port", [str(c.port) for c in ordered]),
        ("step", [s.name for c in ordered for s in c.steps]),
        ("step rank", [str(s.rank) for c in ordered for s in c.steps]),
    ):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            problems.append(f"{what} declared twice: {', '.join(twice)}")
    if problems:
        raise ValueError("; ".join(problems))
    return ordered


def participants() -> tuple[str, ...]:
    return tuple(c.owner for c in contracts())


def contract_of(owner: str) -> Contract:
    for contract in contracts():
        if contract.owner == owner:
            return contract
    raise KeyError(f"no participant is called {owner!r}")


def saga() -> tuple[tuple[Contract, Step], ...]:
    """Every step with its owner, in saga order."""
    pairs = [(c, s) for c in contracts() for s in c.steps]
    return tuple(sorted(pairs, key=lambda pair: pair[1].rank))


def step_names() -> tuple[str, ...]:
    return tuple(step.name for _, step in saga())


def owner_of(step: str) -> str:
    for contract, declared in saga():
        if declared.name == step:
            return contract.owner
    raise KeyError(f"no participant owns a step called {step!r}")


def spec_of(step: str) -> Step:
    for _, declared in saga():
        if declared.name == step:
            return declared
    raise KeyError(f"no participant owns a step called {step!r}")


def after_health(manifest: Manifest) -> list[tuple[Contract, Step]]:
    """The steps that leave state (all but checks), wanted by this manifest, in saga order:
    they run once the containers are healthy."""
    return [(c, s) for c, s in saga() if s.leaves_state and s.wanted(manifest)]


def with_choice() -> list[tuple[Contract, Step]]:
    return [(c, s) for c, s in saga() if s.choice is not None]


def upgrade_guard() -> tuple[Contract, Step] | None:
    """The step whose owner backs a service up before an upgrade (None: no such participant)."""
    return next(((c, s) for c, s in saga() if s.guards_upgrade), None)
