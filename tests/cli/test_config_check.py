"""A key the cell config does not know (a typo under `backup`, at the top) is named with its
file: by `pic-store config check`, by a service that refuses to start on it, and by a running
service that refuses the change and keeps its last good config (reported once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from app.cli.main import main
from shared.config import CELL_CONFIG_RELATIVE, CellConfig
from shared.config_source import INVALID, ConfigSource
from shared.errors import ConfigError

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def _write(data_dir: Path, raw: object) -> Path:
    path = data_dir / CELL_CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".new")
    tmp.write_text(json.dumps(raw))
    tmp.replace(path)  # as an editor or `CellConfig.write` does: a new file
    return path


def test_config_check_names_every_unknown_key_and_bad_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        {"domian": "x.test", "backup": {"keyfile": "k"}, "router": {"tls": "sometimes"}},
    )
    assert main(["config", "check", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: domian: unknown key" in err
    assert f"{path}: backup.keyfile: unknown key" in err
    assert f"{path}: router.tls: Input should be" in err
    assert "sometimes" not in err  # values are never echoed: one may be a secret
    _write(tmp_path, {"domain": "cell.test"})
    assert main(["config", "check", "--data-dir", str(tmp_path)]) == 0
    assert f"OK: {path}" in capsys.readouterr().out


def test_a_running_service_keeps_its_last_good_config_and_reports_the_bad_change_once(
    tmp_path: Path,
) -> None:
    source = ConfigSource(tmp_path)
    assert source.get().domain == CellConfig().domain  # no file: the defaults
    _write(tmp_path, {"domain": "one.test"})
    assert source.get().domain == "one.test"
    _write(tmp_path, {"domain": "two.test", "backup": {"keyfile": "k"}})
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            assert source.get().domain == "one.test"
    refused = [e for e in logs if e["event"] == "cell_config_refused"]
    assert len(refused) == 1 and "backup.keyfile: unknown key" in refused[0]["problem"]
    assert INVALID._value.get() == 1
    _write(tmp_path, {"domain": "three.test"})
    assert source.get().domain == "three.test"
    assert INVALID._value.get() == 0


def test_a_bad_config_at_the_first_read_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, {"backup": {"keyfile": "k"}})
    with pytest.raises(ConfigError, match=r"cell_config.json is invalid: backup.keyfile"):
        ConfigSource(tmp_path).get()


def test_a_service_refuses_to_start_on_a_bad_config_and_says_which_key(tmp_path: Path) -> None:
    path = _write(tmp_path, {"netpolicy": {"vpn_subnett": "10.0.0.0/24"}})
    env = {**os.environ, "PIC_DATA_DIR": str(tmp_path), "PIC_NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "services.verifier"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert str(path) in said and "netpolicy.vpn_subnett: unknown key" in said
