"""The `pic-store` command line: one module per command in shared/cli/commands."""
