"""A peer's configs (each service's `peer_config_template` filled in) and rotations: the only
ways a credential leaves the service."""

from __future__ import annotations

from services.accounts.errors import AccountsError, UnknownPeerError
from services.accounts.manager import AccountsManager
from services.accounts.state import AccountState, Target
from services.accounts.vault import Credentials, generate
from shared.cell_ca import root_certificate
from shared.manifest.const import HTTP_MANAGER
from shared.manifest.placeholders import (
    CA_CERTIFICATE,
    CREDENTIAL_PREFIX,
    DOMAIN,
    USERNAME,
    fill_placeholders,
)

Configs = dict[str, dict[str, str]]


def render(
    target: Target, peer: str, credentials: Credentials, ca_certificate: str = ""
) -> dict[str, str]:
    values = {DOMAIN: target.domain, USERNAME: peer, CA_CERTIFICATE: ca_certificate}
    values.update(
        {f"{CREDENTIAL_PREFIX}{target.service_id}.{k}": v for k, v in credentials.items()}
    )
    try:
        return {key: fill_placeholders(text, values) for key, text in target.template.items()}
    except (KeyError, ValueError) as exc:
        raise AccountsError(
            f"the peer_config_template of {target.service_id} cannot be filled in: {exc}"
        ) from exc


async def configs_of(accounts: AccountsManager, peer: str) -> Configs:
    """Every service's config for the peer (services whose account is not made yet: none)."""
    state = accounts.state
    if peer not in await state.present_peers():
        raise UnknownPeerError(f"there is no peer named {peer!r}")
    out: Configs = {}
    for sid, target in (await state.all_targets()).items():
        record = (await state.accounts_of(sid)).get(peer)
        if record is not None and record.state is AccountState.created:
            credentials = accounts.vault.unlock(record.sealed)
            out[sid] = render(target, peer, credentials, root_certificate(accounts.data_dir))
    return out


async def rotate(accounts: AccountsManager, peer: str, service_id: str) -> Configs:
    """New credentials for the peer in one service; the account is made again with them."""
    state = accounts.state
    async with accounts.lock:
        stored = await state.targets.get(service_id)
        if stored is None:
            raise AccountsError(f"{service_id} is not a service with accounts on this cell")
        record = (await state.accounts_of(service_id)).get(peer)
        if record is None or record.state is not AccountState.created:
            raise UnknownPeerError(
                f"the peer {peer!r} has no account made by pic-store in {service_id}"
            )
        target = stored.value
        fresh = generate(target.credentials)
        manager = accounts.manager_of(target, accounts.calls.within(accounts.start_window))
        # Stored first: whatever fails next, the reconcile makes the account with these.
        await state.save_account(record.model_copy(update={"sealed": accounts.vault.lock(fresh)}))
        if target.manager == HTTP_MANAGER and peer in await manager.usernames():
            await manager.delete(peer)  # the http API has no update
        await manager.create(peer, fresh)
    return {service_id: render(target, peer, fresh, root_certificate(accounts.data_dir))}
