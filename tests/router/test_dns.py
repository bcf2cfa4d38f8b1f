"""Both DNS backends against their real servers: dnsmasq (--hostsdir) and BIND (RFC 2136)."""

from __future__ import annotations

import dns.asyncquery
import dns.update
import pytest

from services.router.dns import HostsDirBackend, Rfc2136Backend, TsigKey, records_for
from services.router.errors import DnsError, DnsUnavailableError, InvalidRouteError
from services.router.routes import routes_for
from tests.router.conftest import DnsServer
from tests.router.dns_parts import CELL_ADDRESS, ZONE, query, settled_answer

pytestmark = pytest.mark.integration

NOTES = {f"notes.{ZONE}": CELL_ADDRESS, f"md.{ZONE}": CELL_ADDRESS}


async def test_set_records_answers_remove_gives_nxdomain(dns_server: DnsServer) -> None:
    backend, port = dns_server.backend, dns_server.port
    service = routes_for(
        "notes", "notes", "cell-notes:80", ["md"], ["cell-notes:81"], ZONE, "container"
    )
    await backend.set_records("notes", records_for(service, CELL_ADDRESS))
    for name in NOTES:
        assert await settled_answer(port, name, ("NOERROR", [CELL_ADDRESS])) == (
            "NOERROR",
            [CELL_ADDRESS],
        )
    assert await backend.list() == NOTES

    await backend.set_records("notes", NOTES)  # the same again: nothing changes
    assert await backend.list() == NOTES
    assert await query(port, f"notes.{ZONE}") == ("NOERROR", [CELL_ADDRESS])

    await backend.remove("notes")
    for name in NOTES:
        assert await settled_answer(port, name, ("NXDOMAIN", [])) == ("NXDOMAIN", [])
    assert await backend.list() == {}
    await backend.remove("notes")  # already gone: fine


async def test_records_follow_changes_and_ipv6_gets_aaaa(dns_server: DnsServer) -> None:
    backend, port = dns_server.backend, dns_server.port
    await backend.set_records("notes", NOTES)
    await backend.set_records("notes", {f"notes.{ZONE}": "fd00::40"})
    assert await settled_answer(port, f"notes.{ZONE}", ("NOERROR", ["fd00::40"]), "AAAA") == (
        "NOERROR",
        ["fd00::40"],
    )
    assert await settled_answer(port, f"notes.{ZONE}", ("NOERROR", [])) == ("NOERROR", [])
    assert await settled_answer(port, f"md.{ZONE}", ("NXDOMAIN", [])) == ("NXDOMAIN", [])
    assert await backend.list() == {f"notes.{ZONE}": "fd00::40"}


async def test_a_name_held_by_another_service_is_refused(dns_server: DnsServer) -> None:
    backend = dns_server.backend
    await backend.set_records("notes", NOTES)
    with pytest.raises(DnsError, match=rf"notes\.{ZONE}.* already held by service notes"):
        await backend.set_records("other", {f"notes.{ZONE}": "10.0.0.9"})
    await backend.remove("other")
    assert await backend.list() == NOTES


@pytest.mark.parametrize(
    "records",
    [
        {'a"}],"x.cell.test': CELL_ADDRESS},
        {"evil.com/..": CELL_ADDRESS},
        {"a b.cell.test": CELL_ADDRESS},
        {"a\n.cell.test": CELL_ADDRESS},
        {"*.cell.test": CELL_ADDRESS},
        {"ok.cell.test": "10.0.0.1\n1.2.3.4 evil.org"},
        {"ok.cell.test": "fe80::1%eth0"},
        {"ok.cell.test": "not-an-ip"},
    ],
)
async def test_bad_input_is_refused_before_it_reaches_dns(
    dns_server: DnsServer, records: dict[str, str]
) -> None:
    with pytest.raises(InvalidRouteError):
        await dns_server.backend.set_records("notes", records)
    with pytest.raises(InvalidRouteError):
        await dns_server.backend.set_records("../etc", {f"ok.{ZONE}": CELL_ADDRESS})
    assert await dns_server.backend.list() == {}


async def test_hostsdir_writes_one_file_per_service_and_ignores_others(dnsmasq: DnsServer) -> None:
    backend = dnsmasq.backend
    assert isinstance(backend, HostsDirBackend)
    (backend.directory / "someone-else.hosts").write_text(f"10.9.9.9 web.{ZONE}\n")
    await backend.set_records("notes", NOTES)
    files = sorted(p.name for p in backend.directory.iterdir())
    assert files == ["pic-store.notes.hosts", "someone-else.hosts"]  # no temporary left
    assert oct(backend.path_of("notes").stat().st_mode & 0o777) == "0o644"
    assert await backend.list() == NOTES
    await backend.remove("notes")
    assert (backend.directory / "someone-else.hosts").exists()


async def test_rfc2136_refuses_a_name_it_does_not_own(named: DnsServer) -> None:
    backend = named.backend
    assert isinstance(backend, Rfc2136Backend)
    by_hand = dns.update.UpdateMessage(ZONE, keyring=backend._signing_key())
    by_hand.add(f"web.{ZONE}.", 60, "A", "10.9.9.9")
    await dns.asyncquery.tcp(by_hand, "127.0.0.1", port=named.port, timeout=5)
    with pytest.raises(DnsError, match=rf"web\.{ZONE}\. is already held by another owner"):
        await backend.set_records("notes", {f"web.{ZONE}": CELL_ADDRESS})
    assert await backend.list() == {}
    assert await query(named.port, f"web.{ZONE}") == ("NOERROR", ["10.9.9.9"])
    with pytest.raises(DnsError, match="not a name inside zone"):
        await backend.set_records("notes", {"notes.elsewhere.test": CELL_ADDRESS})


async def test_rfc2136_errors_name_the_rcode_never_the_secret(named: DnsServer) -> None:
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
    wrong = Rfc2136Backend("127.0.0.1", ZONE, TsigKey("pic-store", secret), port=named.port)
    with pytest.raises(DnsError) as caught:
        await wrong.set_records("notes", NOTES)
    assert caught.value.rcode == "BADSIG"
    assert "BADSIG" in caught.value.message
    assert secret not in str(caught.value)
    assert secret not in repr(wrong.__dict__)

    unknown = Rfc2136Backend("127.0.0.1", ZONE, TsigKey("nobody", secret), port=named.port)
    with pytest.raises(DnsError) as caught:
        await unknown.list()
    assert caught.value.rcode == "BADKEY"
    assert secret not in str(caught.value)

    named.process.stop()
    with pytest.raises(DnsUnavailableError, match=f"127.0.0.1:{named.port}"):
        await named.backend.list()
