"""The `pic-store` command line: one module per command in app/cli/commands."""
