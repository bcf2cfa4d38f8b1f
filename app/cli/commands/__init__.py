"""One module per `pic-store` command, each with `register(subparsers) -> None`."""
