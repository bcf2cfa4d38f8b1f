"""Fixtures for the tests and the benchmarks: the real parts and pic-store stacks."""

pytest_plugins = ["tests.parts.fixtures", "tests.parts.stack"]
