"""The gateway: the one HTTP API a web UI talks to, acting over the bus only."""
