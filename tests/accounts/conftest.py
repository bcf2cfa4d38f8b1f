"""The demo image of examples/store, built and pushed once per session."""

import pytest

from tests.accounts.helpers import build_demo


@pytest.fixture(scope="session")
def demo_image(registry_host: str) -> str:
    return build_demo(registry_host)
