"""`pic-store import` from Runtipi and Umbrel: import -> validate -> review, on fixtures
written for these tests (tests/importers/fixtures), and the policy changes it needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli.main import main

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"


def _import(
    tmp_path: Path, kind: str, app: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, Path, str]:
    out = tmp_path / "store" / "services" / app
    code = main(["import", kind, str(FIXTURES / kind / app), str(out)])
    return code, out, capsys.readouterr().out


def _index(out: Path) -> Path:
    manifest = json.loads((out / "manifest.json").read_text())
    entry = {key: manifest[key] for key in ("id", "name", "version")}
    if "subdomain" in manifest:
        entry["subdomain"] = manifest["subdomain"]
    index = out.parent.parent / "index.json"
    index.write_text(json.dumps({"services": [entry]}))
    return index


def _validate_and_review(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(out)]) == 0, capsys.readouterr()
    assert main(["review", str(out), "--index", str(_index(out))]) == 0, capsys.readouterr()
    capsys.readouterr()


def test_a_web_app_with_a_database_sidecar(tmp_path, capsys):
    code, out, report = _import(tmp_path, "runtipi", "ledger", capsys)
    assert code == 0, report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["subdomain"] == "ledger"
    assert manifest["backend"] == "cell-ledger:8080"
    assert manifest["image"] == "git.pic.ngo/roof/example/ledger:2.4.1"
    assert {v["name"]: v["container"] for v in manifest["backup"]["volumes"]} == {
        "uploads": "cell-ledger",
        "db": "cell-ledger-ledger-db",
    }
    template = (out / "compose-template.yml").read_text()
    assert "${PIC_DATA_DIR}/ledger/db:/var/lib/postgresql/data" in template
    assert "/etc/localtime:/etc/localtime:ro" in template
    assert "traefik" not in template and "ports" not in template and "APP_" not in template
    assert "TZ: ${PIC_CFG_TZ}" in template
    # The store's fixed database password (every install would share it) is a secret
    # generated at install, the same in the app, its database URL and the database.
    assert "DB_PASSWORD: ${PIC_SECRET_DB_PASSWORD}" in template
    assert "POSTGRES_PASSWORD: ${PIC_SECRET_DB_PASSWORD}" in template
    assert (
        "DATABASE_URL: postgres://ledger:${PIC_SECRET_DB_PASSWORD}@ledger-db:5432/ledger"
        in template
    )
    assert "Status: imported: the folder passes `pic-store validate`." in report
    assert (out / "IMPORT.md").read_text().strip() == report.strip()
    _validate_and_review(out, capsys)


def test_form_fields_and_generated_passwords(tmp_path, capsys):
    code, out, report = _import(tmp_path, "runtipi", "survey", capsys)
    assert code == 0, report
    manifest = json.loads((out / "manifest.json").read_text())
    fields = {f["key"]: f for f in manifest["config_schema"]}
    assert fields["survey_admin"] == {
        "key": "survey_admin",
        "type": "string",
        "label": "Admin user",
        "max_length": 32,
        "pattern": "(?s).{3,}",
        "required": True,
    }
    assert fields["survey_admin_password"]["type"] == "secret"
    assert fields["survey_max"] | {} == {
        "key": "survey_max",
        "type": "int",
        "label": "Largest poll",
        "default": 50,
        "min": 1,
        "max": 500,
    }
    assert fields["survey_signup"]["type"] == "bool"
    assert fields["survey_theme"]["options"] == ["light", "dark"]
    template = (out / "compose-template.yml").read_text()
    assert "SURVEY_SESSION_KEY: ${PIC_SECRET_SURVEY_SESSION_KEY}" in template
    assert "SURVEY_ADMIN_PASSWORD: ${PIC_CFG_SURVEY_ADMIN_PASSWORD}" in template
    assert manifest["backend"] == "cell-survey:3000"
    # A variable nobody fills in, and a version that is not a number: decisions.
    assert "SURVEY_MAIL_RELAY have no PIC meaning" in report
    assert "'latest' is not a number: 1.0.0 was used" in report
    _validate_and_review(out, capsys)


def test_an_extra_tcp_port_on_a_sidecar(tmp_path, capsys):
    code, out, report = _import(tmp_path, "umbrel", "broker", capsys)
    assert code == 0, report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "cell-broker:8080"
    # The main container's extra port and the sidecar's are opened to VPN peers, each at
    # its own address on the cell network (the sidecar named by its container_name).
    assert manifest["iptables_rules"] == [
        {"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 8883, "proto": "tcp"},
        {"type": "ACCEPT", "dest_ip": "cell-broker-mqtt", "dest_port": 1883, "proto": "tcp"},
    ]
    assert "port 1883/tcp of the sidecar mqtt -> iptables_rules" in report
    template = (out / "compose-template.yml").read_text()
    assert "app_proxy" not in template
    assert "MQTT_HOST: mqtt" in template  # Umbrel's broker_mqtt_1 is the service key here
    assert "CONSOLE_PASSWORD: ${PIC_SECRET_APP_PASSWORD}" in template
    _validate_and_review(out, capsys)


def test_docker_sock_is_refused_with_the_reason(tmp_path, capsys):
    code, out, report = _import(tmp_path, "umbrel", "dockpanel", capsys)
    assert code == 1
    assert "Status: refused" in report
    assert "/var/run/docker.sock is the Docker engine's socket" in report
    assert "privileged is not allowed: privileged containers are root on the host" in report
    template = (out / "compose-template.yml").read_text()
    assert "docker.sock" not in template and "privileged" not in template
    # What was written is safe: it passes validate without the host access.
    assert main(["validate", str(out)]) == 0


def test_bad_input_is_named(tmp_path, capsys):
    assert main(["import", "umbrel", str(tmp_path / "missing"), str(tmp_path / "o")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["import", "runtipi", str(tmp_path / "empty"), str(tmp_path / "o")]) == 1
    assert "config.json not found" in capsys.readouterr().err
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    assert main(["import", "runtipi", str(FIXTURES / "runtipi" / "ledger"), str(taken)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert (taken / "keep.txt").read_text() == "mine"


def _service(tmp_path: Path, template: str, manifest_changes: dict[str, object]) -> Path:
    folder = tmp_path / "ledger"
    shutil.copytree(FIXTURES / "runtipi" / "ledger", tmp_path / "src")
    assert main(["import", "runtipi", str(tmp_path / "src"), str(folder)]) == 0
    data = json.loads((folder / "manifest.json").read_text())
    data.update(manifest_changes)
    (folder / "manifest.json").write_text(json.dumps(data))
    text = (folder / "compose-template.yml").read_text()
    (folder / "compose-template.yml").write_text(text + template)
    return folder


def test_validate_reports_every_reason_at_once(tmp_path, capsys):
    # A manifest issue, a refused key (ports) and a policy issue found only in Compose's
    # canonical form (an image outside the store registry): all three in one run.
    extra = "  extra:\n    image: docker.io/library/busybox:1\n    ports: ['9000:9000']\n"
    folder = _service(tmp_path, extra, {"version": "two"})
    capsys.readouterr()
    assert main(["validate", str(folder), "--json"]) == 1
    issues = json.loads(capsys.readouterr().out)
    paths = {issue["path"] for issue in issues}
    assert "$.version" in paths
    assert "$.services.extra.ports" in paths
    assert "$.services.extra.image" in paths
    ports = next(i["message"] for i in issues if i["path"] == "$.services.extra.ports")
    # Refusals that teach: the PIC way to get the same.
    assert "backend" in ports and "iptables_rules" in ports and "extra_backends" in ports
    assert main(["review", str(folder), "--index", str(_index(folder)), "--json"]) == 1
    reviewed = {issue["path"] for issue in json.loads(capsys.readouterr().out)}
    assert {"$.version", "$.services.extra.ports", "$.services.extra.image"} <= reviewed


@pytest.mark.parametrize(
    ("mount", "expected"),
    [
        ("/etc/timezone:/etc/timezone:ro", None),
        ("/etc/localtime:/etc/localtime", "must be read-only"),
        ("/etc/localtime/../passwd:/etc/passwd:ro", "outside this service's data folder"),
        ("/etc/passwd:/etc/passwd:ro", "outside this service's data folder"),
    ],
)
def test_only_the_time_zone_files_bind_and_only_read_only(tmp_path, capsys, mount, expected):
    extra = f"  clock:\n    image: git.pic.ngo/roof/clock:1\n    volumes: ['{mount}']\n"
    folder = _service(tmp_path, extra, {})
    capsys.readouterr()
    code = main(["validate", str(folder), "--json"])
    if expected is None:
        assert code == 0, capsys.readouterr()
        return
    assert code == 1
    messages = [i["message"] for i in json.loads(capsys.readouterr().out)]
    assert any(expected in m for m in messages), messages
