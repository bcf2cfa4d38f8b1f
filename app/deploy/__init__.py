"""The production deployment (`deploy/compose.yml`): what runs inside its one image."""
