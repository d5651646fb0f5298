"""Zhang et al.'s released colorization weights (`colorization_release_v2`).

The file (`colorization_release_v2-9b330a0b.pth`, richzhang/colorization)
is a bare PyTorch state dict of `ECCVGenerator`: `model1.0.weight` ...
`model8.6.bias` and `model_out.weight`. It loads into
`keras_ssl.architectures.colorization_eccv16` (layer `model3_4` holds
`model3.4.*`), or into a `Colorization` model built with
`build_colorization(encoder="eccv16")`, whose bin classifier `.head` takes
`model8.6.*` and whose bin table `.bins` takes the 313 ab centres that the
release stores in `model_out`: a 1x1 convolution without bias from the bin
probabilities to ab / 110, so that centre q is `110 * model_out.weight[:, q]`.
"""

import re

import keras
import numpy as np

from keras_ssl.architectures.colorization_eccv16 import AB_SCALE
from keras_ssl.convert.core import ConversionError, assign_by_name
from keras_ssl.convert.readers import read_torch_state_dict

_LAYER = re.compile(r"^model(\d)_(\d+)$")


def _conv_kernel(array):
    # [out, in, kh, kw] -> [kh, kw, in, out]; ConvTranspose2d's [in, out, kh,
    # kw] -> Keras Conv2DTranspose's [kh, kw, out, in] is the same permutation.
    return np.transpose(array, (2, 3, 1, 0))


def _bins_from_model_out(array):
    return np.asarray(array)[:, :, 0, 0].T * AB_SCALE


def _walk(layer):
    for child in getattr(layer, "layers", []):
        yield child
        yield from _walk(child)


def _layer_entries(layer, key):
    if hasattr(layer, "moving_variance"):
        return {
            f"{key}.weight": layer.gamma,
            f"{key}.bias": layer.beta,
            f"{key}.running_mean": layer.moving_mean,
            f"{key}.running_var": layer.moving_variance,
        }
    entries = {f"{key}.weight": (layer.kernel, _conv_kernel)}
    if getattr(layer, "use_bias", False):
        entries[f"{key}.bias"] = layer.bias
    return entries


def colorization_mapping(network):
    """`{release key: (variable, transform)}` for our network's variables."""
    mapping = {}
    found = {}
    for layer in _walk(network):
        match = _LAYER.match(layer.name)
        if match and layer.weights:
            found[layer.name] = layer
            mapping.update(_layer_entries(layer, f"model{match[1]}.{match[2]}"))
        elif layer.name == "model_out":
            found[layer.name] = layer
            mapping["model_out.weight"] = (layer.kernel, _conv_kernel)
    if "model8_6" not in found and isinstance(
        getattr(network, "head", None), keras.layers.Conv2D
    ):
        mapping.update(_layer_entries(network.head, "model8.6"))
    if "model_out" not in found and getattr(network, "bins", None) is not None:
        mapping["model_out.weight"] = (network.bins, _bins_from_model_out)
    if not mapping:
        raise ConversionError(
            f"{network.name!r} has no layer named like the release's modules "
            "(model1_0 ... model8_6, model_out); build it with "
            "keras_ssl.architectures.colorization_eccv16 or "
            "build_colorization(encoder='eccv16')."
        )
    return mapping


def convert_colorization_release(source, network, **options):
    """Load `colorization_release_v2` (a path or a dict of arrays) into `network`.

    Args:
        source: the `.pth` file (a bare state dict), or a dict
            `{key: array}` of the same entries (e.g. from an `.npz`).
        network: a `colorization_eccv16` model, or a `Colorization` model
            built with `encoder="eccv16"`, at the file's width.
        **options: none are defined; any given is an error.

    Returns:
        `network`, with every variable loaded.
    """
    if options:
        raise ValueError(
            f"colorization_release_v2 takes no options. Received: {sorted(options)}"
        )
    if isinstance(source, dict):
        values = {name: np.asarray(value) for name, value in source.items()}
        where = "the given arrays"
    else:
        values = read_torch_state_dict(source)
        where = str(source)
    assign_by_name(
        colorization_mapping(network),
        values,
        source=where,
        ignore=(lambda name: name.endswith("num_batches_tracked"),),
    )
    return network


FORMATS = {"colorization_release_v2": convert_colorization_release}
