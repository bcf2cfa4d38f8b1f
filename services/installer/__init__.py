"""The installer: the life cycle of store services on one Docker engine."""
