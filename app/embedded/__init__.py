"""Start the real parts (nats-server, caddy, registry) as child processes on loopback.

Used by `pic-store up` for the embedded stack and by the test fixtures, so that the
stack a developer runs and the one the tests run are started the same way.
"""

from app.embedded.parts import start_caddy, start_nats, start_registry
from app.embedded.process import ManagedProcess, find_binary, free_port, wait_for_port

__all__ = [
    "ManagedProcess",
    "find_binary",
    "free_port",
    "start_caddy",
    "start_nats",
    "start_registry",
    "wait_for_port",
]
