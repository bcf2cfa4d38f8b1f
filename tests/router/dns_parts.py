"""DNS helpers of the router tests: finding the Debian binaries, BIND's config, queries."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from services.router.dns import TsigKey

ZONE = "cell.test"
CELL_ADDRESS = "10.20.30.40"


def sbin(name: str) -> str:
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    found = shutil.which(name, path=path)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian package: see docs/router.md)")
    return found


async def query(port: int, name: str, rdtype: str = "A") -> tuple[str, list[str]]:
    """(rcode, answers) from the server on 127.0.0.1:port."""
    msg = dns.message.make_query(name, rdtype)
    answer = await dns.asyncquery.udp(msg, "127.0.0.1", port=port, timeout=2)
    values = [
        rdata.to_text()
        for rrset in answer.answer
        for rdata in rrset
        if rrset.rdtype == dns.rdatatype.from_text(rdtype)
    ]
    return dns.rcode.to_text(answer.rcode()), sorted(values)


async def settled_answer(
    port: int, name: str, expected: tuple[str, list[str]], rdtype: str = "A", within: float = 5.0
) -> tuple[str, list[str]]:
    """dnsmasq reloads a hosts file a moment after it is written: poll until it answers."""
    deadline = time.monotonic() + within
    while True:
        got = await query(port, name, rdtype)
        if got == expected or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


def named_config(workdir: Path, port: int, key_file: Path) -> Path:
    zone_file = workdir / f"{ZONE}.db"
    zone_file.write_text(
        f"$TTL 60\n@ IN SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n"
        f"@ IN NS ns1.{ZONE}.\nns1 IN A 127.0.0.1\n"
    )
    conf = workdir / "named.conf"
    conf.write_text(f"""
options {{
    directory "{workdir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    pid-file none;
    recursion no;
    dnssec-validation no;
    notify no;
    session-keyfile "{workdir}/session.key";
    managed-keys-directory "{workdir}";
}};
controls {{ }};
include "{key_file}";
zone "{ZONE}" {{
    type primary;
    file "{zone_file}";
    allow-update {{ key "pic-store"; }};
    allow-transfer {{ key "pic-store"; }};
}};
""")
    subprocess.run([sbin("named-checkconf"), str(conf)], check=True)
    return conf


def tsig_key(key_file: Path) -> TsigKey:
    text = subprocess.run(
        [sbin("tsig-keygen"), "-a", "hmac-sha256", "pic-store"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key_file.write_text(text)
    secret = re.search(r'secret "([^"]+)"', text)
    assert secret is not None
    return TsigKey("pic-store", secret.group(1), "hmac-sha256")


def wait_for_zone(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = dns.query.udp(
                dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.5
            )
            if answer.rcode() == dns.rcode.NOERROR and answer.answer:
                return
        except dns.exception.Timeout:
            pass
        time.sleep(0.05)
    pytest.fail(f"named did not load zone {ZONE} on port {port}")
