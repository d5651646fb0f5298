"""`keras-ssl train METHOD --data SOURCE ...`: train a method from a recipe.

Settings come, lowest priority first, from the defaults, `--recipe` (a zoo
preset's recipe.yaml or its name), `--config`, the command-line flags, and
`--override section.key=value`. Running the same command again with the same
`--out` resumes from the newest checkpoint there.
"""

import argparse
import os
import sys

from keras_ssl.training.callbacks.nan_guard import NonFiniteLossError


def register(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="train a method (GAN, SS-GAN, RotNet, ...) with checkpoints and logs",
        description=(
            "Train METHOD on --data and write checkpoints, sample grids, "
            "TensorBoard and CSV logs and the final models into --out. Run the "
            "same command again to resume after an interruption. See "
            "docs/training.md for the recipe format."
        ),
    )
    parser.add_argument(
        "method", nargs="?", default=None, help="method name (see `keras_ssl.methods`)"
    )
    parser.add_argument(
        "--data", help="TFDS name, folder or .zip in <split>/<class>/ layout, digits"
    )
    parser.add_argument("--split", help="data split (default: train)")
    parser.add_argument("--image-size", type=int, help="resize images to N x N")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    parser.add_argument("--limit", type=int, help="train on a subset of N images")
    parser.add_argument("--steps", type=int, help="total training steps")
    parser.add_argument("--batch-size", type=int, help="global batch size")
    parser.add_argument("--steps-per-epoch", type=int, help="steps per epoch line")
    parser.add_argument(
        "--out", help="run directory (resumed when it has a checkpoint)"
    )
    parser.add_argument("--config", help="a YAML recipe (see docs/training.md)")
    parser.add_argument(
        "--recipe", help="a zoo recipe: zoo/<preset>/recipe.yaml or the preset name"
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a recipe key, e.g. train.steps=100 or model.base_channels=32",
    )
    parser.add_argument(
        "--strategy", choices=("auto", "mirrored", "multi_worker", "default")
    )
    parser.add_argument(
        "--devices", help="comma-separated devices for mirrored, e.g. /gpu:0,/gpu:1"
    )
    parser.add_argument(
        "--max-hours", type=float, help="stop with a checkpoint after H hours"
    )
    parser.add_argument(
        "--checkpoint-every", type=int, help="steps between checkpoints"
    )
    parser.add_argument("--sample-every", type=int, help="steps between sample grids")
    parser.add_argument(
        "--mixed-precision", choices=("float32", "mixed_float16", "mixed_bfloat16")
    )
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="deterministic TensorFlow ops (slower; exact resumes)",
    )
    parser.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "XLA-compile the train step (--jit) or not (--no-jit); default: "
            "Keras' 'auto', which on TensorFlow is no XLA on a CPU-only "
            "machine or under a tf.distribute strategy, else XLA (e.g. one GPU)"
        ),
    )
    parser.set_defaults(func=run_train)


def resolve_recipe_path(recipe):
    """A recipe path, or the recipe of the zoo preset named `recipe`."""
    if os.path.isfile(recipe):
        return recipe
    candidates = [
        os.path.join("zoo", recipe, "recipe.yaml"),
        os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
            "zoo",
            recipe,
            "recipe.yaml",
        ),
    ]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    # An installed package has no zoo/ folder: the presets it ships carry
    # their recipes as package data.
    from keras_ssl import zoo

    if recipe in zoo.list_presets():
        return zoo.get_preset(recipe).recipe
    raise FileNotFoundError(
        f"No recipe at {recipe!r} and no zoo preset of that name "
        f"(looked for {', '.join(candidates)})"
    )


def flags_to_config(args):
    """The recipe layer given by command-line flags (only those set)."""
    config = {"data": {}, "train": {}}
    if args.method:
        config["method"] = args.method
    if args.out:
        config["out"] = args.out
    for flag, key in (
        ("data", "source"),
        ("split", "split"),
        ("image_size", "image_size"),
        ("channels", "channels"),
        ("limit", "limit"),
    ):
        if getattr(args, flag) is not None:
            config["data"][key] = getattr(args, flag)
    for flag in (
        "steps",
        "batch_size",
        "steps_per_epoch",
        "strategy",
        "max_hours",
        "checkpoint_every",
        "sample_every",
        "mixed_precision",
        "seed",
        "deterministic",
    ):
        if getattr(args, flag) is not None:
            config["train"][flag] = getattr(args, flag)
    if args.devices:
        config["train"]["devices"] = [d.strip() for d in args.devices.split(",")]
    if getattr(args, "jit", None) is not None:
        config["compile"] = {"jit_compile": args.jit}
    return config


def run_train(args):
    from keras_ssl.training.config import resolve_config
    from keras_ssl.training.runner import run

    layers = []
    if args.recipe:
        layers.append(resolve_recipe_path(args.recipe))
    if args.config:
        layers.append(args.config)
    layers.append(flags_to_config(args))
    config = resolve_config(*layers, overrides=args.override)
    try:
        summary = run(config)
    except NonFiniteLossError as error:
        print(f"keras-ssl train: error: {error}", file=sys.stderr)
        return 3
    rate = summary["steps_per_second"]
    print(
        f"{summary['stopped']}: step {summary['steps']} in {summary['seconds']:.1f} s"
        + (f" ({rate:.2f} steps/s)" if rate else "")
        + f"; XLA {'on' if summary.get('jit_compile') else 'off'}"
        + f"; outputs in {summary['out']}"
    )
    return 0
