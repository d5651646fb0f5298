"""pytorch-fid's FID Inception weights into `fid_inception_v3`.

Format `"pytorch_fid_inception"`: the state dict of
`pt_inception-2015-12-05-6726825d.pth`, released by pytorch-fid
(https://github.com/mseitzer/pytorch-fid/releases/tag/fid_weights), the
2015-12-05 TensorFlow Inception graph ported to torchvision's `Inception3`
names (`aux_logits=False`, 1008 classes): 94 `BasicConv2d` modules
(`<prefix>.conv.weight`, `<prefix>.bn.{weight,bias,running_mean,
running_var}`) and `fc.weight` / `fc.bias`, 566 entries. The
`*.num_batches_tracked` counters, present or not, are ignored.

Layers of `keras_ssl.architectures.fid_inception_v3` carry the same names
(`Mixed_5b.branch1x1.conv`, `Mixed_5b.branch1x1.bn`, `fc`), so the mapping
is by name: conv kernels OIHW -> HWIO, the fc matrix transposed, batch-norm
gamma / beta / moving mean / moving variance as they are.
"""

import os

import keras
import numpy as np

from keras_ssl.convert.core import assign_by_name
from keras_ssl.convert.readers import read_torch_state_dict


def _conv_kernel(array):
    return np.transpose(array, (2, 3, 1, 0))


def _transpose(array):
    return np.transpose(array)


def _is_counter(name):
    return name.endswith("num_batches_tracked")


def mapping_of(network):
    """`{pytorch-fid name: (Keras variable, transform)}` for `network`."""
    mapping = {}
    for layer in getattr(network, "layers", ()):
        name = layer.name
        if isinstance(layer, keras.layers.Conv2D):
            if not name.endswith(".conv") or layer.use_bias:
                raise ValueError(
                    "network must be built by fid_inception_v3 (convolutions "
                    f"named '<prefix>.conv', without bias). Received: layer {name!r}"
                )
            mapping[f"{name}.weight"] = (layer.kernel, _conv_kernel)
        elif isinstance(layer, keras.layers.BatchNormalization):
            mapping[f"{name}.weight"] = layer.gamma
            mapping[f"{name}.bias"] = layer.beta
            mapping[f"{name}.running_mean"] = layer.moving_mean
            mapping[f"{name}.running_var"] = layer.moving_variance
        elif isinstance(layer, keras.layers.Dense):
            mapping[f"{name}.weight"] = (layer.kernel, _transpose)
            mapping[f"{name}.bias"] = layer.bias
    if "fc.weight" not in mapping:
        raise ValueError(
            "network must be built by fid_inception_v3 (a Dense layer named "
            f"'fc'). Received: {getattr(network, 'name', network)!r}"
        )
    return mapping


def convert_pytorch_fid_inception(source, network, **options):
    """Load pytorch-fid's FID Inception state dict into `network`.

    Args:
        source: the `.pth` file (`pt_inception-2015-12-05-6726825d.pth`,
            read with `torch.load(weights_only=True)`; torch is needed only
            here), or a dict `{name: numpy array}` with the same names.
        network: a model built by `fid_inception_v3`.
        **options: none are accepted.

    Returns:
        `network`, every variable loaded; on any missing, unused or
        mis-shaped name nothing is loaded and a `ConversionError` lists them.

    Example:

    >>> from keras_ssl.architectures.fid_inception import fid_inception_v3
    >>> from keras_ssl import convert
    >>> convert.convert("pytorch_fid_inception",
    ...     "pt_inception-2015-12-05-6726825d.pth",
    ...     fid_inception_v3())  # doctest: +SKIP
    """
    if options:
        raise ValueError(
            "The pytorch_fid_inception format takes no options. "
            f"Received: {sorted(options)}"
        )
    if isinstance(source, dict):
        values, label = dict(source), "the given state dict"
    else:
        label = os.fspath(source)
        values = read_torch_state_dict(label)
    assign_by_name(mapping_of(network), values, source=label, ignore=(_is_counter,))
    return network


FORMATS = {"pytorch_fid_inception": convert_pytorch_fid_inception}
