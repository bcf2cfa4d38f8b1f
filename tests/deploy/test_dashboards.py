"""The dashboards work: Debian's Prometheus scrapes the embedded stack with the scrape
configuration of deploy/prometheus.yml, after the operations a cell sees (installs, a
reconfigure, a failure, a peer, a backup, and the corrections the reconciles make), and every
query of every panel of deploy/grafana/pic-store.json returns data."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from app.deploy import scrape_config
from app.embedded import ManagedProcess, free_port
from app.embedded.example import INSTALLED
from services.netpolicy.names import chain_name
from shared.roster import HTTP_PORTS, SERVICES
from tests.parts.docker_engine import docker
from tests.parts.host_tables import clear_cell, host, leftovers
from tests.parts.stack import cleanup_docker
from tests.parts.up import start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "pic-store.json"
SCRAPE = REPO / "deploy" / "prometheus.yml"
CELL = "dash"


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_scrape_configuration_names_every_service_on_its_port() -> None:
    config = yaml.safe_load(SCRAPE.read_text())
    (job,) = config["scrape_configs"]
    targets = {s["labels"]["service"]: s["targets"] for s in job["static_configs"]}
    assert targets == {name: [f"127.0.0.1:{port}"] for name, port in HTTP_PORTS.items()}
    assert SCRAPE.read_text() == scrape_config.render(), (
        "deploy/prometheus.yml is stale: run `python -m app.deploy.scrape_config`"
    )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip


def _prometheus(tmp: Path, env: dict[str, str]) -> ManagedProcess:
    """Prometheus with the deployment's scrape job, pointed at this stack's ports."""
    config = yaml.safe_load(SCRAPE.read_text())
    config["global"]["scrape_interval"] = "1s"
    (job,) = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(Path(env["DATA"]) / "secrets" / "api-token")
    for group in job["static_configs"]:
        name = group["labels"]["service"]
        group["targets"] = [f"127.0.0.1:{env[f'PIC_{name.upper()}_HTTP_PORT']}"]
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        shutil.which("prometheus") or "/usr/bin/prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return ManagedProcess("prometheus", argv, port, tmp / "prometheus.log").start(timeout=30)


def _query(prometheus: ManagedProcess, expr: str) -> list[dict]:  # type: ignore[type-arg]
    url = f"http://127.0.0.1:{prometheus.port}/api/v1/query?" + urllib.parse.urlencode(
        {"query": expr}
    )
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = json.loads(answer.read())
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def _wait_until_ready(prometheus: ManagedProcess, deadline: float) -> None:
    """Prometheus listens before its storage is open; until then every query is a 503."""
    url = f"http://127.0.0.1:{prometheus.port}/-/ready"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
        assert time.monotonic() < deadline, "Prometheus never became ready"
        time.sleep(0.2)


def _wait_for_scrapes(prometheus: ManagedProcess) -> None:
    """Until every service has been scraped once: what happens next is seen happen."""
    deadline = time.monotonic() + 30
    _wait_until_ready(prometheus, deadline)
    while len(_query(prometheus, 'up{job="pic-store"} == 1')) < len(SERVICES):
        assert time.monotonic() < deadline, "Prometheus did not scrape every service"
        time.sleep(0.5)


def _shows_something(result: list[dict]) -> bool:  # type: ignore[type-arg]
    return any(not math.isnan(float(sample["value"][1])) for sample in result)


@pytest.fixture
def cell(tmp_path: Path, cell_turn: None) -> Iterator[dict[str, str]]:
    env = up_cell(tmp_path / "cell", cell=CELL)
    env.update(PIC_NETPOLICY_RECONCILE_PERIOD="2", PIC_ACCOUNTS_RECONCILE_PERIOD="2")
    yield env
    asyncio.run(clear_cell(CELL, tmp_path / "cell"))
    cleanup_docker("pic-cell", list(INSTALLED))
    assert leftovers(CELL) == [], "the cell left rules in the host's tables"


@pytest.mark.timeout(900)
def test_every_panel_of_the_dashboard_returns_data(cell: dict[str, str], tmp_path: Path) -> None:
    up, out = start_up(cell, "--install-example")
    prometheus = None
    try:
        caddy_pid = int(out.until(r"caddy\s+unix socket\s+pid (\d+)", 120).group(1))
        prometheus = _prometheus(tmp_path, cell)  # it sees the operations as they happen
        _wait_for_scrapes(prometheus)
        assert out.until(r"install notes: (\w+)", 240).group(1) == "succeeded", out.seen
        assert _cli(cell, "peers", "add", "alice").returncode == 0
        for title in ("Dashboards", "Dashboards again"):  # a step's first run starts its series
            assert (
                _cli(cell, "reconfigure", "notes", "--set", f"site_title={title}").returncode == 0
            )
            time.sleep(2)  # a scrape in between
        failed = _cli(
            cell, "install", "nosuch", "--store", str(Path(cell["DATA"]) / "example-store")
        )
        assert failed.returncode == 1, failed.stdout + failed.stderr
        backed_up = _cli(cell, "backup", "notes")
        assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
        # What the reconciles correct: a Caddy restarted empty, a flushed firewall chain,
        # wiped accounts.
        os.kill(caddy_pid, signal.SIGKILL)
        host("iptables", "-F", chain_name(CELL))
        docker("exec", "cell-notes", "sh", "-c", "rm -rf /data/notes/accounts/*")

        deadline = time.monotonic() + 60
        missing = panel_queries()
        while missing and time.monotonic() < deadline:
            missing = [
                (title, expr)
                for title, expr in missing
                if not _shows_something(_query(prometheus, expr.replace("$__rate_interval", "5m")))
            ]
            time.sleep(1)
        assert not missing, f"panels with no data: {missing}"
        assert len(_query(prometheus, 'up{job="pic-store"} == 1')) == len(SERVICES)
    finally:
        if prometheus is not None:
            prometheus.stop()
        stop_up(up)
