"""The `keras-ssl` command.

Each subcommand lives in its own module under `keras_ssl.commands` and
exposes `register(subparsers)`, which adds an `argparse` sub-parser whose
`func` default runs the command and returns an exit code.
"""

import argparse
import importlib
import pkgutil
import sys

from keras_ssl import commands
from keras_ssl.version import __version__


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-ssl",
        description=(
            "Self-supervised representation learning and self-supervised GANs "
            "in Keras 3: train, evaluate, sample from and export models."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"keras-ssl {__version__}"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(
        pkgutil.iter_modules(commands.__path__), key=lambda m: m.name
    ):
        module = importlib.import_module(f"keras_ssl.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as error:
        print(f"keras-ssl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
