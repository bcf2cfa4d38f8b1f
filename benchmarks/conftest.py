"""The benchmarks start their real parts with the same fixtures as the tests."""

from tests.router.conftest import admin, caddy, http_port

__all__ = ["admin", "caddy", "http_port"]
