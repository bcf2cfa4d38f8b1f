"""A service with `hostnames` gets a certificate of the cell's CA for them, through
`${PIC_TLS_CERT}` and `${PIC_TLS_KEY}`: kept across renders, issued again when it no longer
fits, and never in an error."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared import cell_ca
from shared.cell_ca import CellCa, ensure_ca, issue, load_ca, still_good
from shared.compose import render_compose
from shared.compose.variables import NO_CA
from shared.errors import RenderError
from tests.compose.helpers import context, one_service, plain_manifest

pytestmark = pytest.mark.unit

TLS = one_service(
    "environment:\n  CERT: ${PIC_TLS_CERT}\n  KEY: ${PIC_TLS_KEY}\n  ROOT: ${PIC_CA_CERT}\n"
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CellCa:
    data = tmp_path_factory.mktemp("data")
    ensure_ca(data, "cell")
    found = load_ca(data)
    assert found is not None
    return found


def _env(ca: CellCa | None, secrets: dict[str, str] | None = None) -> tuple[dict, dict]:
    manifest = plain_manifest(hostnames=["mail"])
    result = render_compose(TLS, manifest, context(ca=ca, secrets=secrets or {}))
    return result.document["services"]["cell-notes"]["environment"], result.secrets


def test_the_certificate_names_the_hosts_and_a_client_trusting_the_root_accepts_it(
    ca: CellCa, tmp_path: Path
) -> None:
    env, _ = _env(ca)
    leaf = x509.load_pem_x509_certificate(env["CERT"].encode())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["mail.pic.example.org"]
    leaf.verify_directly_issued_by(ca.certificate)
    key = serialization.load_pem_private_key(env["KEY"].encode(), password=None)
    assert key.public_key() == leaf.public_key()
    assert env["ROOT"] == ca.certificate_pem
    # What a mail client does with the peer config's root: a context that loads the pair.
    (tmp_path / "c.pem").write_text(env["CERT"])
    (tmp_path / "k.pem").write_text(env["KEY"])
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
        tmp_path / "c.pem", tmp_path / "k.pem"
    )


def test_a_second_render_keeps_the_certificate_and_a_new_root_issues_again(
    ca: CellCa, tmp_path: Path
) -> None:
    env, secrets = _env(ca)
    again, _ = _env(ca, secrets)
    assert again["CERT"] == env["CERT"] and again["KEY"] == env["KEY"]
    ensure_ca(tmp_path, "other")
    other = load_ca(tmp_path)
    assert other is not None
    moved, _ = _env(other, secrets)
    assert moved["CERT"] != env["CERT"]
    x509.load_pem_x509_certificate(moved["CERT"].encode()).verify_directly_issued_by(
        other.certificate
    )


def test_a_certificate_near_its_end_or_for_other_names_is_not_kept(
    ca: CellCa, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf = issue(ca, ["mail.pic.example.org"])
    assert still_good(ca, leaf.certificate_pem, ["mail.pic.example.org"])
    assert not still_good(ca, leaf.certificate_pem, ["imap.pic.example.org"])
    assert not still_good(ca, "not a certificate", ["mail.pic.example.org"])
    in_a_year = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=370)
    monkeypatch.setattr(cell_ca, "_now", lambda: in_a_year)
    assert not still_good(ca, leaf.certificate_pem, ["mail.pic.example.org"])


def test_without_hostnames_the_variables_are_refused_and_without_a_ca_a_stand_in(
    ca: CellCa,
) -> None:
    with pytest.raises(RenderError) as caught:
        render_compose(TLS, plain_manifest(), context(ca=ca))
    assert "names no `hostnames`" in caught.value.message
    env, secrets = _env(None)
    assert env["CERT"] == env["KEY"] == NO_CA
    assert "tls.key" not in secrets


def test_the_key_never_appears_in_an_error(ca: CellCa) -> None:
    _, secrets = _env(ca)
    broken = TLS.replace("ROOT: ${PIC_CA_CERT}", "ROOT: ${PIC_NOPE}")
    with pytest.raises(RenderError) as caught:
        render_compose(broken, plain_manifest(hostnames=["mail"]), context(ca=ca, secrets=secrets))
    assert "PRIVATE KEY" not in caught.value.message
    assert secrets["tls.key"][40:80] not in caught.value.message


def test_the_root_key_is_private_and_a_half_made_pair_is_made_again(tmp_path: Path) -> None:
    folder = ensure_ca(tmp_path, "cell")
    assert (folder / "root.key").stat().st_mode & 0o777 == 0o600
    (folder / "root.crt").unlink()
    ensure_ca(tmp_path, "cell")
    assert load_ca(tmp_path) is not None
