"""The `arr` command: one module per command group, assembled in `ledger.cli.main`."""

from ledger.cli.main import app, main

__all__ = ["app", "main"]
