"""What the `keras-ssl` commands accept as a model: a preset or a saved run."""

import difflib
import os

import keras

from keras_ssl.zoo.registry import get_preset, list_presets, load


def load_target(target, weights="default", preset=None):
    """Load a model named on the command line.

    Args:
        target: a preset name; a `.keras` file (e.g. a run's
            `final/model.keras`); a training run folder (its
            `final/model.keras` is loaded); or a `.weights.h5` file, which
            needs `preset` for the architecture.
        weights: for a preset name, as in `keras_ssl.zoo.load`.
        preset: preset whose architecture a `.weights.h5` file fits.

    Returns:
        The model (a method model, or a plain `keras.Model` saved alone).
    """
    target = os.fspath(target)
    if target in list_presets():
        return load(target, weights=weights)
    if os.path.isdir(target):
        final = os.path.join(target, "final", "model.keras")
        if not os.path.isfile(final):
            raise FileNotFoundError(
                f"{target} is a folder without final/model.keras; pass a "
                "finished training run folder, a .keras file or a preset name."
            )
        target = final
    if target.endswith(".weights.h5"):
        if preset is None:
            raise ValueError(
                "A .weights.h5 file needs --preset NAME for the architecture it "
                f"fits. Received: {target} without a preset"
            )
        return load(get_preset(preset), weights=target)
    if target.endswith(".keras"):
        if not os.path.isfile(target):
            raise FileNotFoundError(f"No model file at {target}")
        return keras.saving.load_model(target, compile=False)
    close = difflib.get_close_matches(target, list_presets(), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"{target!r} is neither a preset nor a .keras / .weights.h5 file or "
        f"training run folder.{hint} Presets: {', '.join(list_presets())}"
    )


def add_target_arguments(parser):
    """Add PRESET_OR_CHECKPOINT, --weights and --preset to an argparse parser."""
    parser.add_argument(
        "target",
        metavar="PRESET_OR_CHECKPOINT",
        help="a preset name (keras-ssl zoo list), a .keras file, a training run "
        "folder (its final/model.keras) or a .weights.h5 file with --preset",
    )
    parser.add_argument(
        "--weights",
        default="default",
        help="for a preset: 'default' (published weights), 'none' (untrained "
        "architecture), or a .weights.h5 / .keras path or an https URL",
    )
    parser.add_argument(
        "--preset", default=None, help="the architecture of a .weights.h5 target"
    )


def load_target_from_args(args):
    """`load_target` with the arguments added by `add_target_arguments`."""
    weights = None if str(args.weights).lower() == "none" else args.weights
    return load_target(args.target, weights=weights, preset=args.preset)
