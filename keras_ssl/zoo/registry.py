"""Presets by name: list, describe, build with weights, register."""

import difflib
import glob
import importlib
import importlib.util
import os
import zipfile

import numpy as np

from keras_ssl.methods import registry as methods_registry
from keras_ssl.zoo import originals
from keras_ssl.zoo import weights as weights_lib
from keras_ssl.zoo.preset import Preset

PRESETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets")

_PRESETS = {}
_BUILTINS_LOADED = False


def _ensure_builtins():
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    for path in sorted(glob.glob(os.path.join(PRESETS_DIR, "*.yaml"))):
        preset = Preset.from_yaml(path)
        _PRESETS.setdefault(preset.name, preset)


def register(preset, overwrite=False):
    """Add a preset to the zoo (for your own models and weights).

    Args:
        preset: a `Preset`, a dict of its fields, or the path of a YAML file
            holding one.
        overwrite: replace a preset of the same name instead of raising.

    Returns:
        The registered `Preset`.

    Example:

    >>> from keras_ssl import zoo
    >>> preset = zoo.register({"name": "my_rotnet_digits", "recipe": {
    ...     "method": "rotnet", "model": {"image_size": 32, "channels": 1},
    ...     "data": {"source": "digits"}}})
    >>> "my_rotnet_digits" in zoo.list_presets()
    True
    >>> zoo.unregister("my_rotnet_digits")
    """
    _ensure_builtins()
    if isinstance(preset, str | os.PathLike) and not isinstance(preset, Preset):
        preset = Preset.from_yaml(preset)
    elif isinstance(preset, dict):
        preset = Preset.from_dict(preset)
    elif not isinstance(preset, Preset):
        raise TypeError(
            "preset must be a Preset, a dict or a YAML path. "
            f"Received: preset of type {type(preset).__name__}"
        )
    if preset.name in _PRESETS and not overwrite:
        raise ValueError(
            f"A preset named {preset.name!r} already exists; pass overwrite=True "
            "to replace it."
        )
    _PRESETS[preset.name] = preset
    return preset


def unregister(name):
    """Remove a preset registered with `register` (or a built-in one)."""
    get_preset(name)
    del _PRESETS[name]


def list_presets(method=None):
    """Names of the registered presets, sorted; only `method`'s if given."""
    _ensure_builtins()
    return sorted(
        name
        for name, preset in _PRESETS.items()
        if method is None or preset.method == method
    )


def get_preset(name):
    """The `Preset` named `name`; an unknown name lists the closest ones."""
    _ensure_builtins()
    if isinstance(name, Preset):
        return name
    if name not in _PRESETS:
        close = difflib.get_close_matches(str(name), list(_PRESETS), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown preset {name!r}.{hint} "
            f"Available presets: {', '.join(list_presets())}"
        )
    return _PRESETS[name]


def info(name):
    """What a preset is, as a plain dict.

    Keys: `name`, `method`, `description`, `paper`, `architecture`,
    `dataset`, `input_spec` (image size, channels, classes and value range),
    `method_config`, `weights_available`, `weights` (the source), `results`
    (measured), `notes` (choices of the recipe, what is unverified),
    `recipe` (path) and `train_command`.
    """
    preset = get_preset(name)
    return {
        "name": preset.name,
        "method": preset.method,
        "method_available": method_available(preset.method),
        "description": preset.description,
        "paper": preset.paper,
        "architecture": preset.architecture,
        "dataset": preset.dataset,
        "input_spec": {
            "image_size": preset.image_size,
            "channels": preset.channels,
            "num_classes": preset.num_classes,
            "images": (
                f"float32 (batch, {preset.image_size}, {preset.image_size}, "
                f"{preset.channels}) in [-1, 1]"
            ),
        },
        "method_config": preset.method_config,
        "weights_available": preset.has_weights,
        "weights": preset.weights,
        "original": preset.original,
        "results": dict(preset.results),
        "notes": list(preset.notes),
        "recipe": preset.recipe_path,
        "train_command": preset.train_command,
    }


def method_available(method):
    """Whether `method` is registered, importing its module if needed.

    Methods register their factories when their module is imported; the
    module of method `m` is `keras_ssl.methods.m`.
    """
    if method in methods_registry.list_methods():
        return True
    module = f"keras_ssl.methods.{method}"
    if method.isidentifier() and importlib.util.find_spec(module) is not None:
        importlib.import_module(module)
    return method in methods_registry.list_methods()


def build_inputs(model_or_preset, batch_size=2, image_size=None, channels=None):
    """A zero training batch `(images, labels)` for a preset's model."""
    preset = model_or_preset
    image_size = image_size or preset.image_size
    channels = channels or preset.channels
    images = np.zeros((batch_size, image_size, image_size, channels), "float32")
    labels = np.zeros((batch_size,), "int32")
    return images, labels


def _build(model, preset, config):
    """Create every variable of a method model by calling it on a batch.

    Method models accept a training batch in `call`, as `fit` passes it:
    `(images, labels)` for labelled data. Heads that are built lazily exist
    only after such a call, and loading weights needs all of them.
    """
    batch = build_inputs(
        preset, image_size=config.get("image_size"), channels=config.get("channels")
    )
    model(batch, training=False)


def load(name, weights="default", sha256=None, **overrides):
    """Build a preset's method model and load its weights.

    Args:
        name: a preset name (`list_presets()`) or a `Preset`.
        weights: `"default"` for the preset's published weights (a clear
            error when it has none, with the command that trains them);
            `None` for the untrained architecture; a `.weights.h5` /
            `.keras` file path or an http(s) URL of one; or, for a preset
            that converts the authors' release (`info(name)["original"]`),
            the path of that original file (e.g. Mimicry's `netG.pth`),
            converted once and cached (see `keras_ssl.zoo.originals`).
        sha256: expected digest of a path or URL given as `weights`.
        **overrides: keyword arguments of the method factory that replace the
            preset's (e.g. `seed=0`); changing the architecture makes the
            preset's weights unloadable.

    Returns:
        The method model (e.g. an `SSGAN` with `.generator`), built.

    Example:

    >>> from keras_ssl import zoo
    >>> model = zoo.load("rotnet_cifar10", weights=None)   # doctest: +SKIP
    >>> model.encoder.output_shape                          # doctest: +SKIP
    """
    preset = get_preset(name)
    original_source = None
    if weights == "default":
        if preset.weights is None and preset.original is not None:
            original_source = "fetch"
        elif not preset.has_weights:
            raise ValueError(
                f"Preset {preset.name!r} has no published weights. Train them "
                f"with `{preset.train_command}` and pass the resulting file as "
                "weights=..., or pass weights=None for the untrained "
                "architecture."
            )
        source = preset.weights
    elif (
        preset.original is not None
        and isinstance(weights, str | os.PathLike)
        and not weights_lib.is_url(weights)
        and originals.is_original_file(weights)
    ):
        original_source = weights
    else:
        source = weights
    if not method_available(preset.method):
        raise ValueError(
            f"Preset {preset.name!r} needs the method {preset.method!r}, which is "
            "not available. Available methods: "
            f"{', '.join(methods_registry.list_methods())}"
        )
    config = preset.build_config(**overrides)
    model = methods_registry.build_method(preset.method, **config)
    _build(model, preset, config)
    if original_source is not None:
        source = None if original_source == "fetch" else original_source
        return originals.load_original(model, preset, source)
    if source is None:
        return model
    path = weights_lib.resolve(source, sha256=sha256, name=preset.name)
    try:
        model.load_weights(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Could not read the weights file {path} for preset {preset.name!r}: "
            "expected a Keras `.weights.h5` file (HDF5, from "
            "`model.save_weights`) or a `.keras` archive (from `model.save`). "
            f"The file is damaged or in another format ({error})."
        ) from error
    except ValueError as error:
        raise ValueError(
            f"The weights in {path} do not fit preset {preset.name!r} "
            f"(method {preset.method!r}, config {config}). {error}"
        ) from error
    return model
