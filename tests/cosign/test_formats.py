"""Pure checks of the signature formats: classic payloads, DSSE/in-toto, Rekor SETs."""

from __future__ import annotations

import base64
import json

import pytest

from shared.cosign import VerificationError
from shared.cosign.bundle import (
    SIGN_PREDICATE,
    make_bundle,
    make_statement,
    pae,
    parse_bundle,
    statement_digests,
)
from shared.cosign.classic import make_payload, signature_tag, signed_digest
from shared.cosign.keys import PublicKey, load_public_key
from shared.cosign.rekor import RekorEntry, canonical_json, check_entry, verify_entry, verify_set
from shared.oci import Repository
from tests.cosign.conftest import fixture_signature, read_fixture

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "ab" * 32


def rekor_fixture() -> tuple[RekorEntry, bytes, bytes]:
    signature = fixture_signature("dir-img-cosign-key-rekor-valid/signature-1")
    annotations = signature["annotations"]
    entry = RekorEntry.from_annotation(annotations["dev.sigstore.cosign/bundle"])
    return (
        entry,
        base64.b64decode(annotations["dev.cosignproject.cosign/signature"]),
        base64.b64decode(signature["payload"]),
    )


def test_signature_tag():
    assert signature_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"


def test_payload_layout_matches_cosigns():
    fixture = base64.b64decode(fixture_signature("dir-img-cosign-valid/signature-1")["payload"])
    digest = signed_digest(fixture)
    ours = make_payload(Repository("192.168.64.2:5000", "cosign-signed-single-sample"), digest)
    assert ours == fixture


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"[]", "not a cosign simple-signing payload"),
        (b'{"critical":{"type":"other","image":{"docker-manifest-digest":"x"}}}', "has type"),
        (
            b'{"critical":{"type":"cosign container image signature","image":'
            b'{"docker-manifest-digest":1}}}',
            "no docker-manifest-digest",
        ),
    ],
)
def test_bad_payloads(payload: bytes, message: str):
    with pytest.raises(VerificationError, match=message):
        signed_digest(payload)


def test_dsse_pae_matches_the_spec_example():
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_statement_round_trip_and_checks():
    assert statement_digests(make_statement(DIGEST)) == [DIGEST]
    other = json.loads(make_statement(DIGEST))
    other["predicateType"] = "https://slsa.dev/provenance/v1"
    with pytest.raises(VerificationError, match="not a cosign image signature"):
        statement_digests(json.dumps(other).encode())
    with pytest.raises(VerificationError, match="not an in-toto statement"):
        statement_digests(b'{"_type": 1}')


def test_bundle_round_trip(cosign_pub: PublicKey):
    parsed = parse_bundle(make_bundle(make_statement(DIGEST), b"sig", cosign_pub))
    assert parsed.signatures == [b"sig"]
    assert parsed.payload_type == "application/vnd.in-toto+json"
    assert statement_digests(parsed.payload) == [DIGEST]
    assert SIGN_PREDICATE in parsed.payload.decode()


@pytest.mark.parametrize(
    "data", [b"nope", b"{}", b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}']
)
def test_bad_bundles(data: bytes):
    with pytest.raises(VerificationError):
        parse_bundle(data)


def test_canonical_json_is_sorted_and_compact():
    assert (
        canonical_json({"logIndex": 1, "body": "x", "logID": "y", "integratedTime": 2})
        == b'{"body":"x","integratedTime":2,"logID":"y","logIndex":1}'
    )


def test_rekor_fixture_set_and_entry_verify(rekor_pub, cosign2_pub):
    entry, signature, payload = rekor_fixture()
    verify_entry(entry, rekor_pub, signature, payload, cosign2_pub)


def test_rekor_entry_must_match_signature_payload_and_key(rekor_pub, cosign_pub, cosign2_pub):
    entry, signature, payload = rekor_fixture()
    verify_set(entry, rekor_pub)
    for args in [
        (signature[:-1] + b"\x00", payload, cosign2_pub),
        (signature, payload + b" ", cosign2_pub),
        (signature, payload, cosign_pub),
    ]:
        with pytest.raises(VerificationError, match="does not match this signature"):
            check_entry(entry, *args)


def test_malformed_rekor_annotation():
    with pytest.raises(VerificationError, match="malformed"):
        RekorEntry.from_annotation('{"Payload": {}}')


def test_rekor_key_loads_from_fixture():
    assert load_public_key(read_fixture("rekor.pub")).key_id == rekor_fixture()[0].log_id
