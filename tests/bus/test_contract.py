"""The message contract: one model per subject, versioned, and a current AsyncAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.events import CHANNELS, InstallCommand, channel_for_subject, channel_table
from shared.events.asyncapi import render

pytestmark = pytest.mark.unit
DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_asyncapi_document_is_current() -> None:
    assert DOC.read_text() == render(), (
        "docs/asyncapi.yaml is stale: run `python -m shared.events.asyncapi > docs/asyncapi.yaml`"
    )


def test_each_subject_has_exactly_one_model() -> None:
    templates = [c.template for c in CHANNELS]
    names = [c.name for c in CHANNELS]
    assert len(set(templates)) == len(templates)
    assert len(set(names)) == len(names)
    for channel in CHANNELS:
        subject = channel.subject(
            **{
                k: "x"
                for k in ("cell", "host", "owner", "consumer")
                if "{" + k + "}" in channel.template
            }
        )
        assert channel_for_subject(subject) is channel


def test_unknown_version_and_type_are_rejected() -> None:
    good = {"operation_id": "op-1", "service_id": "notes", "payload": {"store": "/s"}}
    assert InstallCommand.model_validate(good).version == 1
    with pytest.raises(ValidationError):
        InstallCommand.model_validate({**good, "version": 2})
    with pytest.raises(ValidationError):
        InstallCommand.model_validate({**good, "type": "installer.remove"})
    with pytest.raises(ValidationError):
        InstallCommand.model_validate({**good, "surprise": True})


def test_subject_tokens_cannot_inject_wildcards() -> None:
    channel = CHANNELS[0]
    for bad in ("a.b", "*", ">", "A", "", "a b"):
        with pytest.raises(ValueError, match="not a valid token"):
            channel.subject(cell=bad, host="local")


def test_the_channel_table_of_events_md_is_current() -> None:
    """Who publishes and consumes each channel, as the roles say, is what the docs say."""
    doc = channel_table.DOC.read_text()
    assert doc == channel_table.rendered(doc), (
        "docs/events.md's channel table is stale: run `python -m shared.events.channel_table`"
    )
