"""compare_gan TF checkpoints and TF-Hub modules into our compare_gan networks.

Format `"compare_gan_tf"`: a TensorFlow checkpoint written by
google/compare_gan (a training checkpoint `model.ckpt-N`, the
`model-with-accu.ckpt` its evaluation writes, or the variables of a TF-Hub
module, `<module>/variables/variables`, in a folder or in the `.tar.gz` that
TF-Hub serves), or a mapping of arrays `{variable name: array}`. Variables
are read by name with `tf.train.load_checkpoint`; no TF1 graph runs.

The networks are `resnet_generator` / `resnet_discriminator` with
`style="resnet_cifar"`, `"resnet5"` or `"resnet_biggan"`, whose layers are
named after compare_gan's variable scopes. Each of their variables maps to
exactly one compare_gan name (`compare_gan_variables`) with no transform:
TF and Keras share the kernel layouts ([kh, kw, in, out], [in, out]) and
compare_gan's spectral-norm vectors keep their shapes ((R, 1) or (1, C)).

What is loaded, all or nothing:
- every variable in the network's scopes (`generator/...`, or
  `discriminator/...` with the heads' `discriminator_rotation/...`,
  `discriminator_predictor/...`, `discriminator_projection/...` that the
  network has): each must be present with the right shape, and every name
  of the checkpoint inside those scopes must be used;
- not part of the network, and skipped: other top-level scopes (the other
  network, heads the network does not have, `global_step`), optimizer slots
  (`.../Adam`, `.../Adam_1`) and the generator's moving-average copies
  (`.../ExponentialMovingAverage`) when they are not the ones loaded.

With `ema="auto"` (default) a generator takes the `ExponentialMovingAverage`
copy of each trainable variable when the checkpoint has one for every such
variable (compare_gan's `g_use_ema`, which its TF-Hub generator signature
uses), else the raw values; `ema=True` requires them, `ema=False` ignores
them. Spectral-norm vectors and batch-norm statistics have no copy.
"""

import os

import keras
import numpy as np

from keras_ssl.convert.core import assign_by_name
from keras_ssl.convert.readers import read_tf_checkpoint

EMA_SUFFIX = "/ExponentialMovingAverage"
SLOT_SUFFIXES = ("/Adam", "/Adam_1")


def _scope(layer):
    return layer.name.replace(".", "/")


def _kernel_layer(scope, layer, names):
    """A Dense / Conv2D, possibly wrapped in SpectralNormalization."""
    from keras_ssl.layers.spectral_normalization import SpectralNormalization

    inner = layer.layer if isinstance(layer, SpectralNormalization) else layer
    names[f"{scope}/kernel"] = inner.kernel
    if getattr(inner, "use_bias", False):
        names[f"{scope}/bias"] = inner.bias
    if isinstance(layer, SpectralNormalization):
        names[f"{scope}/kernel/u_var"] = layer.u


def _statistics(scope, layer, names):
    """BN statistics: Keras moving averages or standing accumulators."""
    from keras_ssl.layers.standing_batch_normalization import (
        StandingBatchNormalization,
    )

    if isinstance(layer, StandingBatchNormalization):
        for name in ("accu_mean", "accu_variance", "accu_counter", "update_accus"):
            names[f"{scope}/accu/{name}"] = getattr(layer, name)
        affine = [("gamma", layer.scale), ("beta", layer.center)]
    else:
        names[f"{scope}/moving_mean"] = layer.moving_mean
        names[f"{scope}/moving_variance"] = layer.moving_variance
        affine = [("gamma", layer.scale), ("beta", layer.center)]
    for name, present in affine:
        if present:
            names[f"{scope}/{name}"] = getattr(layer, name)


def compare_gan_variables(network):
    """`{compare_gan variable name: keras variable}` for a compare_gan network.

    Raises:
        ValueError: a layer with weights that has no compare_gan counterpart
            (the network was not built with a compare_gan style).
    """
    from keras_ssl.layers.class_projection import ClassProjection
    from keras_ssl.layers.linear_conditional_batch_normalization import (
        LinearConditionalBatchNormalization,
    )
    from keras_ssl.layers.self_attention_2d import SelfAttention2D
    from keras_ssl.layers.self_modulated_batch_normalization import (
        SelfModulatedBatchNormalization,
    )
    from keras_ssl.layers.spectral_normalization import SpectralNormalization
    from keras_ssl.layers.standing_batch_normalization import (
        StandingBatchNormalization,
    )

    names = {}
    for layer in network.layers:
        if not layer.weights:
            continue
        scope = _scope(layer)
        if isinstance(
            layer, (SpectralNormalization, keras.layers.Dense, keras.layers.Conv2D)
        ):
            _kernel_layer(scope, layer, names)
        elif isinstance(
            layer, (keras.layers.BatchNormalization, StandingBatchNormalization)
        ):
            _statistics(scope, layer, names)
        elif isinstance(layer, SelfModulatedBatchNormalization):
            _statistics(scope, layer.batch_norm, names)
            for part, dense in (
                ("hidden", layer.hidden),
                ("gamma", layer.gamma_head),
                ("beta", layer.beta_head),
            ):
                _kernel_layer(f"{scope}/sbn/{part}", dense, names)
        elif isinstance(layer, LinearConditionalBatchNormalization):
            _statistics(scope, layer.batch_norm, names)
            _kernel_layer(f"{scope}/condition/gamma", layer.gamma, names)
            _kernel_layer(f"{scope}/condition/beta", layer.beta, names)
        elif isinstance(layer, SelfAttention2D):
            for part, conv in (
                ("conv2d_theta", layer.query),
                ("conv2d_phi", layer.key),
                ("conv2d_g", layer.value),
                ("conv2d_attn_g", layer.attention_output),
            ):
                _kernel_layer(f"{scope}/{part}", conv, names)
            names[f"{scope}/sigma"] = layer.gamma
        elif isinstance(layer, ClassProjection):
            names[f"{scope}/kernel"] = layer.embeddings
            if layer.use_spectral_norm:
                names[f"{scope}/kernel/u_var"] = layer.u
        else:
            raise ValueError(
                f"Layer {layer.name!r} ({type(layer).__name__}) of network "
                f"{network.name!r} has no compare_gan counterpart; build the "
                "network with style='resnet_cifar', 'resnet5' or 'resnet_biggan'."
            )
    count = sum(len(layer.weights) for layer in network.layers)
    if count != len(names):
        raise ValueError(
            f"Network {network.name!r}: {count} variables but {len(names)} "
            "compare_gan names; some layer is not mapped completely."
        )
    return names


ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def _read_archive(path):
    """The variables of a TF-Hub module archive (`?tf-hub-format=compressed`)."""
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(path) as archive:
            members = [
                member
                for member in archive.getmembers()
                if member.isfile()
                and os.path.normpath(member.name).lstrip("./").startswith("variables/")
            ]
            if not members:
                raise FileNotFoundError(
                    f"{path} holds no variables/ folder: not a TF-Hub module archive."
                )
            archive.extractall(folder, members=members, filter="data")
        return read_tf_checkpoint(folder)


def _read(source):
    if isinstance(source, dict):
        return {name: np.asarray(value) for name, value in source.items()}, "arrays"
    path = os.fspath(source)
    if path.endswith(ARCHIVE_SUFFIXES) and os.path.isfile(path):
        return _read_archive(path), path
    if path.endswith(".index") and not os.path.isdir(path):
        path = path[: -len(".index")]
    return read_tf_checkpoint(path), path


def convert_compare_gan(source, network, ema="auto"):
    """Load a compare_gan checkpoint into `network`, by exact variable name.

    Args:
        source: a TF checkpoint prefix, a folder holding one, a TF-Hub module
            folder or its `.tar.gz` archive (TF-Hub's compressed download), a
            checkpoint's `.index` file, or a dict of arrays.
        network: a built compare_gan-style generator or discriminator.
        ema: "auto", True or False: load the generator's
            `ExponentialMovingAverage` copies (see the module docstring).

    Returns:
        `network`.

    Raises:
        keras_ssl.convert.ConversionError: listing every missing, unused or
            mis-shaped variable; nothing is assigned then.
    """
    if ema not in ("auto", True, False):
        raise ValueError(f"ema must be 'auto', True or False. Received: ema={ema!r}")
    values, where = _read(source)
    names = compare_gan_variables(network)
    trainable = [name for name, variable in names.items() if variable.trainable]
    has_ema = bool(trainable) and all(name + EMA_SUFFIX in values for name in trainable)
    use_ema = ema is True or (ema == "auto" and has_ema)
    mapping = dict(names)
    if use_ema:
        for name in trainable:
            mapping[name + EMA_SUFFIX] = mapping.pop(name)
    roots = {name.split("/")[0] for name in mapping}
    raw = set(trainable) if use_ema else set()

    def outside(name):
        return name.split("/")[0] not in roots

    def extra_copy(name):
        return name not in mapping and (
            name.endswith(SLOT_SUFFIXES) or name.endswith(EMA_SUFFIX) or name in raw
        )

    assign_by_name(mapping, values, source=where, ignore=(outside, extra_copy))
    return network


def save_compare_gan_checkpoint(values, prefix):
    """Write `{name: array}` as a TF checkpoint readable by compare_gan's names.

    Used to build TF-Hub-module-like folders from our networks (tests and
    benchmarks): `save_compare_gan_checkpoint(v, "<module>/variables/variables")`.
    """
    import tensorflow as tf

    prefix = os.fspath(prefix)
    os.makedirs(os.path.dirname(prefix) or ".", exist_ok=True)
    names = sorted(values)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.convert_to_tensor(np.asarray(values[n])) for n in names],
    )
    return prefix


def network_values(network):
    """`{compare_gan name: numpy array}` of a compare_gan-style network."""
    return {
        name: np.asarray(keras.ops.convert_to_numpy(variable))
        for name, variable in compare_gan_variables(network).items()
    }


FORMATS = {"compare_gan_tf": convert_compare_gan}
