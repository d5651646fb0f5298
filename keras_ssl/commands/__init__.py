"""Subcommands of the `keras-ssl` command, one module each, found at run time."""
