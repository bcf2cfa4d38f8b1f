"""A service's view (`pic-store status`, `GET /services/{id}`) gives times in ISO 8601, UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.installed import ServiceRecord, view

pytestmark = pytest.mark.unit


def test_the_updated_time_is_iso_8601_in_utc() -> None:
    record = ServiceRecord(service_id="notes", state="installed", updated=1796310000.5)
    shown = view(record).model_dump(mode="json")["updated"]
    assert shown == "2026-12-03T15:00:00.500000Z"
    assert datetime.fromisoformat(shown) == datetime.fromtimestamp(1796310000.5, UTC)
