"""A cell host made of network namespaces, for the netpolicy's tests. The host's own tables
are never touched: every command runs in a namespace made here, removed at teardown.

    peer  10.8.0.2 --- vpn0 10.8.0.1 [host] up0 10.99.1.1 --- 10.99.1.2 internet (default)
                                     [host] wg0 10.99.2.1 --- 10.99.2.2 tunnel's far end
    svc   172.20.0.20 --- c0 172.20.0.1 [host] c1 172.21.0.1 --- 172.21.0.21 other

`internet` and `far` both hold TARGET, so where a datagram to it arrives tells which way it
left the host.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TARGET = "203.0.113.10"
UDP_PORT = 9999
SERVICE_IP, OTHER_IP = "172.20.0.20", "172.21.0.21"
VPN_SUBNET = "10.8.0.0/24"
ROLES = ("host", "peer", "internet", "far", "svc", "other")

LISTEN_UDP = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        data, _ = s.recvfrom(512)
        out.write(data.decode() + "\\n")
"""
LISTEN_TCP = """
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.sendall(b"hi"); c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
threading.Event().wait()
"""
SEND_UDP = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
except OSError:
    pass
"""
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.0).recv(2)
    print("open")
except OSError:
    print("closed")
"""


def sh(*argv: str, check: bool = True) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Topology:
    tag: str
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ns(self, role: str) -> str:
        return f"{self.tag}-{role}"

    def run(self, role: str, *argv: str, check: bool = True) -> str:
        return sh("ip", "netns", "exec", self.ns(role), *argv, check=check)

    def python(self, role: str, script: str, *args: str) -> str:
        return self.run(role, sys.executable, "-c", script, *args)

    def spawn(self, role: str, script: str, *args: str) -> None:
        argv = ["ip", "netns", "exec", self.ns(role), sys.executable, "-c", script, *args]
        self.processes.append(subprocess.Popen(argv))

    def link(self, a: str, a_if: str, a_ip: str, b: str, b_if: str, b_ip: str) -> None:
        tmp = f"v{uuid.uuid4().hex[:10]}"
        sh("ip", "link", "add", tmp, "netns", self.ns(a), "type", "veth", "peer", "name",
           a_if, "netns", self.ns(a))  # fmt: skip
        self.run(a, "ip", "link", "set", tmp, "netns", self.ns(b))
        self.run(b, "ip", "link", "set", tmp, "name", b_if)
        for role, name, ip in ((a, a_if, a_ip), (b, b_if, b_ip)):
            self.run(role, "ip", "addr", "add", ip, "dev", name)
            self.run(role, "ip", "link", "set", name, "up")

    # -- what the tests look at ---------------------------------------------------------

    def received(self, role: str) -> list[str]:
        path = self.workdir / f"{role}.udp"
        return path.read_text().split() if path.exists() else []

    def send_from(self, role: str, token: str) -> None:
        self.python(role, SEND_UDP, TARGET, str(UDP_PORT), token)

    def where_did_it_go(self, role: str, wait: float = 1.0) -> set[str]:
        """Send a datagram to TARGET from `role`: the namespaces it arrived in."""
        token = f"{role}-{uuid.uuid4().hex[:8]}"
        self.send_from(role, token)
        deadline = time.monotonic() + wait
        seen: set[str] = set()
        while time.monotonic() < deadline:
            seen = {where for where in ("internet", "far") if token in self.received(where)}
            if seen:
                time.sleep(0.2)  # a copy by the other way would be in by now
                return {where for where in ("internet", "far") if token in self.received(where)}
            time.sleep(0.05)
        return seen

    def peer_reaches(self, port: int) -> bool:
        return self.python("peer", CONNECT, SERVICE_IP, str(port)).strip() == "open"

    def interface(self, name: str, up: bool) -> None:
        self.run("host", "ip", "link", "set", name, "up" if up else "down")


def build(workdir: Path) -> Topology:
    topo = Topology(f"np{uuid.uuid4().hex[:6]}", workdir)
    for role in ROLES:
        sh("ip", "netns", "add", topo.ns(role))
        topo.run(role, "ip", "link", "set", "lo", "up")
    topo.link("host", "vpn0", "10.8.0.1/24", "peer", "eth0", "10.8.0.2/24")
    topo.link("host", "up0", "10.99.1.1/30", "internet", "eth0", "10.99.1.2/30")
    topo.link("host", "wg0", "10.99.2.1/30", "far", "eth0", "10.99.2.2/30")
    topo.link("host", "c0", "172.20.0.1/24", "svc", "eth0", f"{SERVICE_IP}/24")
    topo.link("host", "c1", "172.21.0.1/24", "other", "eth0", f"{OTHER_IP}/24")
    for role, gateway in (
        ("peer", "10.8.0.1"), ("svc", "172.20.0.1"), ("other", "172.21.0.1"),
        ("host", "10.99.1.2"),
    ):  # fmt: skip
        topo.run(role, "ip", "route", "add", "default", "via", gateway)
    for role in ("internet", "far"):
        topo.run(role, "ip", "addr", "add", f"{TARGET}/32", "dev", "lo")
        topo.spawn(role, LISTEN_UDP, str(UDP_PORT), str(workdir / f"{role}.udp"))
    topo.spawn("svc", LISTEN_TCP, "8080", "8081")
    topo.run("host", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # As Docker leaves a host: forwarding dropped but for replies and the containers' own
    # outbound traffic; the way in for a VPN peer is an ACCEPT in DOCKER-USER.
    for rule in (
        ["-P", "FORWARD", "DROP"],
        ["-A", "FORWARD", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
        ["-A", "FORWARD", "-i", "c0", "-j", "ACCEPT"],
        ["-A", "FORWARD", "-i", "c1", "-j", "ACCEPT"],
    ):
        topo.run("host", "iptables", *rule)
    _wait_listening(topo)
    return topo


def _wait_listening(topo: Topology) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if topo.python("svc", CONNECT, "127.0.0.1", "8081").strip() == "open":
            return
        time.sleep(0.1)
    raise AssertionError("the service's listeners did not start")


def teardown(topo: Topology) -> None:
    for proc in topo.processes:
        proc.kill()
        proc.wait()
    for role in ROLES:
        sh("ip", "netns", "del", topo.ns(role), check=False)


def cell_host(workdir: Path) -> Iterator[Topology]:
    topo = build(workdir)
    try:
        yield topo
    finally:
        teardown(topo)


__all__ = ["OTHER_IP", "SERVICE_IP", "TARGET", "VPN_SUBNET", "Topology", "cell_host"]
