"""Mimicry's PyTorch checkpoints (`netG.pth`, `netD.pth`) into our networks.

Format `"mimicry_pth"`: a file written by Mimicry's trainer,
`{'model_state_dict': ..., 'optimizer_state_dict': ..., 'global_step': ...}`,
or a bare state dict (read with `torch.load(weights_only=True)`), or a dict
of numpy arrays with the same names. The network is one of
`keras_ssl.architectures.mimicry_resnet`'s (`resnet_generator(...,
style="mimicry")` and `resnet_discriminator(..., style="mimicry")`).

Every state-dict entry is matched by its exact name:

- `l1.weight`, `l1.bias` (G's first linear layer): Dense `l1`, the
  weight transposed and its rows permuted from PyTorch's (C, H, W) view to
  Keras' (H, W, C) reshape;
- `<conv>.weight` [out, in, kh, kw]: Conv2D kernel [kh, kw, in, out];
- `<layer>.weight_orig`, `.weight_u`, `.weight_v` (PyTorch's spectral_norm
  on a conv, linear or embedding layer): `TorchSpectralNormalization`'s
  kernel, `u` and `v` (a conv's `v` permuted from (in, kh, kw) to Keras'
  (kh, kw, in));
- `<layer>.weight`, `.sn_u` (1, out) (Mimicry's own SN): kernel and `u` of
  `MimicrySpectralNormalization`;
- `<bn>.weight`, `.bias`, `.running_mean`, `.running_var`:
  `TorchBatchNormalization`'s gamma, beta and moving statistics;
- `<cbn>.bn.running_mean`, `.bn.running_var`, `.embed.weight`:
  `MimicryConditionalBatchNormalization`'s statistics and `embed` table;
- every `.bias`: the layer's bias.

Two kinds of entries are read but not loaded:

- `num_batches_tracked`: PyTorch's BN uses it only when `momentum=None`
  (a cumulative average); Mimicry keeps the default 0.1, so it has no
  effect on any output or update.
- `sn_sigma` of Mimicry's own SN layers: written in training, never read
  (every forward pass recomputes sigma from `sn_u`).

Anything else that is missing, unused or mis-shaped is an error listing
every such name; nothing is assigned then.
"""

import os

import keras
import numpy as np

from keras_ssl.convert.core import ConversionError, assign_by_name
from keras_ssl.convert.readers import read_torch_state_dict
from keras_ssl.layers.mimicry_conditional_batch_normalization import (
    MimicryConditionalBatchNormalization,
)
from keras_ssl.layers.mimicry_spectral_normalization import (
    MimicrySpectralNormalization,
)
from keras_ssl.layers.torch_batch_normalization import TorchBatchNormalization
from keras_ssl.layers.torch_spectral_normalization import TorchSpectralNormalization

STATE_DICT_KEYS = ["model_state_dict", None]
IGNORED_SUFFIXES = (".num_batches_tracked", ".sn_sigma")


def _ignored(name):
    return name.endswith(IGNORED_SUFFIXES)


def _identity(array):
    return array


def _conv_kernel(array):
    return np.transpose(array, (2, 3, 1, 0))


def _conv_kernel_back(array):
    return np.transpose(array, (3, 2, 0, 1))


def _transpose(array):
    return np.transpose(array)


def _flat(array):
    return np.reshape(array, (-1,))


def _row(array):
    return np.reshape(array, (1, -1))


def _conv_v(shape):
    """PyTorch's weight_v, (in, kh, kw) flattened, into Keras' (kh, kw, in)."""
    kh, kw, cin = shape

    def forward(array):
        if array.size != kh * kw * cin:
            return array  # left for assign_by_name to report as mis-shaped
        return np.transpose(np.reshape(array, (cin, kh, kw)), (1, 2, 0)).reshape(-1)

    def back(array):
        return np.transpose(np.reshape(array, (kh, kw, cin)), (2, 0, 1)).reshape(-1)

    return forward, back


def _seed_permutation(shape):
    """`l1` rows: PyTorch views them as (C, H, W), Keras reshapes to (H, W, C)."""
    height, width, channels = shape

    def forward(array):
        if array.ndim < 1 or array.shape[0] != height * width * channels:
            return array  # left for assign_by_name to report as mis-shaped
        rest = array.shape[1:]
        array = np.reshape(array, (channels, height, width) + rest)
        array = np.transpose(array, (1, 2, 0) + tuple(range(3, 3 + len(rest))))
        return np.reshape(array, (height * width * channels,) + rest)

    def back(array):
        rest = array.shape[1:]
        array = np.reshape(array, (height, width, channels) + rest)
        array = np.transpose(array, (2, 0, 1) + tuple(range(3, 3 + len(rest))))
        return np.reshape(array, (height * width * channels,) + rest)

    return forward, back


def torch_prefix(layer_name):
    """Mimicry's module path of one of our layers: `block2_c_sc` -> `block2.c_sc`."""
    if layer_name.startswith("block") and "_" in layer_name:
        block, rest = layer_name.split("_", 1)
        return f"{block}.{rest}"
    return layer_name


def _compose(first, second):
    return lambda array: second(first(array))


def _layer_entries(layer, network):
    """`[(mimicry name, variable, to_ours, to_mimicry)]` of one layer."""
    prefix = torch_prefix(layer.name)
    entries = []
    if isinstance(layer, TorchSpectralNormalization):
        inner = layer.layer
        if isinstance(inner, keras.layers.Conv2D):
            kernel = (_conv_kernel, _conv_kernel_back)
            v = _conv_v(tuple(inner.kernel.shape[:3]))
        elif isinstance(inner, keras.layers.Dense):
            kernel = (_transpose, _transpose)
            v = (_identity, _identity)
        else:
            kernel = (_identity, _identity)
            v = (_identity, _identity)
        if isinstance(layer, MimicrySpectralNormalization):
            entries.append((f"{prefix}.weight", layer.kernel, *kernel))
            entries.append((f"{prefix}.sn_u", layer.u, _flat, _row))
        else:
            entries.append((f"{prefix}.weight_orig", layer.kernel, *kernel))
            entries.append((f"{prefix}.weight_u", layer.u, _identity, _identity))
            entries.append((f"{prefix}.weight_v", layer.v, *v))
        if not isinstance(inner, keras.layers.Embedding) and inner.use_bias:
            entries.append((f"{prefix}.bias", inner.bias, _identity, _identity))
    elif isinstance(layer, MimicryConditionalBatchNormalization):
        entries += [
            (f"{prefix}.bn.running_mean", layer.moving_mean, _identity, _identity),
            (f"{prefix}.bn.running_var", layer.moving_variance, _identity, _identity),
            (f"{prefix}.embed.weight", layer.embed, _identity, _identity),
        ]
    elif isinstance(layer, TorchBatchNormalization):
        if layer.scale:
            entries.append((f"{prefix}.weight", layer.gamma, _identity, _identity))
        if layer.center:
            entries.append((f"{prefix}.bias", layer.beta, _identity, _identity))
        entries += [
            (f"{prefix}.running_mean", layer.moving_mean, _identity, _identity),
            (f"{prefix}.running_var", layer.moving_variance, _identity, _identity),
        ]
    elif isinstance(layer, keras.layers.Conv2D):
        entries.append(
            (f"{prefix}.weight", layer.kernel, _conv_kernel, _conv_kernel_back)
        )
        if layer.use_bias:
            entries.append((f"{prefix}.bias", layer.bias, _identity, _identity))
    elif isinstance(layer, keras.layers.Dense):
        weight = (_transpose, _transpose)
        bias = (_identity, _identity)
        reshape = _following_reshape(layer, network)
        if reshape is not None:
            forward, back = _seed_permutation(reshape)
            weight = (_compose(forward, _transpose), _compose(_transpose, back))
            bias = (forward, back)
        entries.append((f"{prefix}.weight", layer.kernel, *weight))
        if layer.use_bias:
            entries.append((f"{prefix}.bias", layer.bias, *bias))
    elif layer.weights:
        raise ConversionError(
            f"Layer {layer.name!r} ({type(layer).__name__}) of {network.name!r} "
            "has no Mimicry counterpart; the network must be built by "
            "keras_ssl.architectures.mimicry_resnet."
        )
    return entries


def _following_reshape(layer, network):
    """The target shape of the Reshape right after `layer` (G's `l1`), or None."""
    candidate = f"{layer.name}_reshape"
    try:
        reshape = network.get_layer(candidate)
    except ValueError:
        return None
    if not isinstance(reshape, keras.layers.Reshape):
        return None
    return tuple(reshape.target_shape)


def entries(network):
    """Every variable of `network` with its Mimicry name and both transforms.

    Returns `[(mimicry_name, variable, to_ours, to_mimicry)]`.
    """
    result = []
    for layer in network.layers:
        result += _layer_entries(layer, network)
    return result


def _values(source):
    if isinstance(source, dict):
        return {name: np.asarray(value) for name, value in source.items()}, "arrays"
    path = os.fspath(source)
    return read_torch_state_dict(path, key=STATE_DICT_KEYS), path


def convert_mimicry(source, network):
    """Load a Mimicry checkpoint into `network`, all or nothing.

    Args:
        source: a `.pth` file (Mimicry's `{'model_state_dict': ...}` or a
            bare state dict), or a dict `{name: array}` of the same entries.
        network: a Mimicry-style network (`mimicry_generator` /
            `mimicry_discriminator`, or `resnet_*(..., style="mimicry")`) of
            the checkpoint's size, widths and heads.

    Returns:
        `network`.

    Raises:
        ConversionError: listing every missing, unused and mis-shaped entry.

    Example:

    >>> from keras_ssl.architectures.mimicry_resnet import mimicry_generator
    >>> g = mimicry_generator(32, z_dim=8, base_channels=4)
    >>> state = to_state_dict(g)
    >>> _ = convert_mimicry(state, mimicry_generator(32, z_dim=8, base_channels=4))
    >>> "block2.c_sc.weight" in state
    True
    """
    values, where = _values(source)
    mapping = {
        name: (variable, to_ours) for name, variable, to_ours, _ in entries(network)
    }
    assign_by_name(mapping, values, source=where, ignore=(_ignored,))
    return network


def to_state_dict(network):
    """`network`'s variables as a Mimicry state dict of numpy arrays.

    The inverse of `convert_mimicry`: the same names and PyTorch layouts,
    plus the entries the converter ignores (`num_batches_tracked` = 0,
    `sn_sigma` = 1, their values at construction), so that
    `torch.save({"model_state_dict": ...})` of it is a file Mimicry loads.
    """
    state = {}
    for name, variable, _, to_mimicry in entries(network):
        state[name] = np.asarray(to_mimicry(keras.ops.convert_to_numpy(variable)))
        if name.endswith("running_var"):
            state[name[: -len("running_var")] + "num_batches_tracked"] = np.array(
                0, dtype=np.int64
            )
        if name.endswith(".sn_u"):
            state[name[: -len("sn_u")] + "sn_sigma"] = np.ones((1,), np.float32)
    return state


FORMATS = {"mimicry_pth": convert_mimicry}
