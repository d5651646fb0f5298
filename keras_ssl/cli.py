"""The `keras-ssl` command.

Each subcommand lives in its own module under `keras_ssl.commands` and
exposes `register(subparsers)`, which adds an `argparse` sub-parser whose
`func` default runs the command and returns an exit code.

The command is quiet by default: TensorFlow's native (C++) info, warning
and error lines (oneDNN, "Could not find cuda drivers", CPU instruction
notes, "failed call to cuInit", "remapper failed", absl's "All log messages
before absl::InitializeLog()") are hidden unless `--verbose` is given,
anywhere on the command line (see `keras_ssl.commands._quiet`). Errors
still reach the user as Python exceptions.
"""

import argparse
import importlib
import pkgutil
import sys

from keras_ssl import commands
from keras_ssl.commands._quiet import VERBOSE_FLAG
from keras_ssl.commands._quiet import arguments as arguments_of
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
    parser.add_argument(
        VERBOSE_FLAG,
        action="store_true",
        help=(
            "show TensorFlow's native info / warning lines (hidden by default); "
            "accepted anywhere on the command line"
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(
        pkgutil.iter_modules(commands.__path__), key=lambda m: m.name
    ):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"keras_ssl.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = arguments_of(argv)
    verbose = VERBOSE_FLAG in arguments
    if verbose:
        # `--verbose` may follow the subcommand: read it here, once.
        rest = argv[len(arguments) :]
        argv = [a for a in arguments if a != VERBOSE_FLAG] + rest
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = verbose
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
