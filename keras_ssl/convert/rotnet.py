"""The RotNet authors' PyTorch checkpoints (gidariss/FeatureLearningRotNet).

Their `Algorithm.save_checkpoint` writes each network as
`{'epoch': e, 'network': state_dict}` (`model_net_epoch200`,
`classifier_net_epoch100`, ...); the CIFAR-10 release
`CIFAR10_RotNet_NIN4blocks.tar.gz` packs such files in a tar archive, which
this format opens as well (it reads the `*_net_epoch*` member whose name
starts with `model`, or the only one).

Three targets, told apart by their layer names:

- a RotNet model (`keras_ssl.methods.RotNet` on `nin_encoder`): the encoder
  and the rotation head (`_feature_blocks.<num_stages>.Classifier`);
- a bare `nin_encoder`: the feature blocks only (the rotation classifier's
  keys are left unused on purpose);
- `keras_ssl.evaluation.nin_conv_block_classifier`: the `NIN_ConvBlock3`
  classifier (`classifier.Block3_ConvB<k>`, `classifier.Liniear_F` (sic)).

Keys of the NIN: `_feature_blocks.<s-1>.Block<s>_ConvB<k>.layers.Conv.weight`
and `...BatchNorm.{weight,bias,running_mean,running_var}` -> our
`block<s>_<k>_conv` / `block<s>_<k>_bn`. The authors' network reads images
normalised as `(x01 - mean) / std` with mean [125.3, 123.0, 113.9] / 255 and
std [63.0, 62.1, 66.7] / 255; build `nin_encoder(input_mean=..., input_std=...)`
(`CIFAR_MEAN`, `CIFAR_STD` here) to feed it images in [-1, 1].
"""

import os
import tarfile
import tempfile

import numpy as np

from keras_ssl.convert.core import assign_by_name
from keras_ssl.convert.readers import read_torch_state_dict

CIFAR_MEAN = [125.3 / 255, 123.0 / 255, 113.9 / 255]
CIFAR_STD = [63.0 / 255, 62.1 / 255, 66.7 / 255]

_BN = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}


def _conv_kernel(array):
    return np.transpose(array, (2, 3, 1, 0))


def _dense_kernel(array):
    return np.transpose(array, (1, 0))


def _block(mapping, key, conv, bn):
    mapping[f"{key}.layers.Conv.weight"] = (conv.kernel, _conv_kernel)
    for torch_name, attribute in _BN.items():
        mapping[f"{key}.layers.BatchNorm.{torch_name}"] = getattr(bn, attribute)


def _encoder_mapping(encoder, mapping):
    names = {layer.name for layer in encoder.layers}
    stages = 0
    while f"block{stages + 1}_1_conv" in names:
        stages += 1
    for stage in range(1, stages + 1):
        for k in (1, 2, 3):
            _block(
                mapping,
                f"_feature_blocks.{stage - 1}.Block{stage}_ConvB{k}",
                encoder.get_layer(f"block{stage}_{k}_conv"),
                encoder.get_layer(f"block{stage}_{k}_bn"),
            )
    return stages


def _layer_names(network):
    return {layer.name for layer in getattr(network, "layers", [])}


def network_kind(network):
    """`"rotnet"`, `"encoder"` or `"classifier"`: what `network` holds."""
    encoder = getattr(network, "encoder", None)
    if encoder is not None and hasattr(network, "rotation_head"):
        if "block1_1_conv" in _layer_names(encoder):
            return "rotnet"
    names = _layer_names(network)
    if "block1_1_conv" in names:
        return "encoder"
    if {"conv1_conv", "conv3_bn", "logits"} <= names:
        return "classifier"
    raise ValueError(
        "The rotnet_pth format loads into a RotNet on nin_encoder, a "
        "nin_encoder or nin_conv_block_classifier. Received: a network "
        f"{getattr(network, 'name', network)!r} with none of their layer names"
    )


def _read_archive(path, member):
    with tarfile.open(path) as archive:
        candidates = [
            m for m in archive.getmembers() if m.isfile() and "_net_epoch" in m.name
        ]
        if member is not None:
            candidates = [m for m in candidates if m.name.endswith(member)]
        elif len(candidates) > 1:
            candidates = [
                m for m in candidates if os.path.basename(m.name).startswith("model")
            ] or candidates
        if len(candidates) != 1:
            raise ValueError(
                f"{path} must hold exactly one network file "
                f"(*_net_epoch*{'' if member is None else ', ending ' + member}). "
                f"Found: {[m.name for m in candidates]}; pass member=<name>"
            )
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "network.pth")
            with (
                archive.extractfile(candidates[0]) as source,
                open(target, "wb") as copy,
            ):
                copy.write(source.read())
            return read_torch_state_dict(target, key=["network", None])


def convert_rotnet_pth(source, network, member=None):
    """Load an authors' RotNet / classifier checkpoint into `network`.

    Args:
        source: a `torch.save` file (`{'epoch', 'network': state_dict}` or a
            bare state dict), a tar archive of such files (the release
            `CIFAR10_RotNet_NIN4blocks.tar.gz`), or a dict of numpy arrays
            under the state-dict keys.
        network: a `RotNet` on `nin_encoder` (encoder and rotation head), a
            `nin_encoder` (feature blocks), or `nin_conv_block_classifier`.
        member: in an archive, the end of the network file's name (e.g.
            `"model_net_epoch200"`); default: the only `model*_net_epoch*`.

    Returns:
        `network`, every variable loaded (all or nothing).
    """
    if isinstance(source, str | os.PathLike):
        where = os.fspath(source)
        if os.path.isfile(where) and tarfile.is_tarfile(where):
            values = _read_archive(where, member)
        else:
            values = read_torch_state_dict(where, key=["network", None])
    else:
        values, where = {k: np.asarray(v) for k, v in source.items()}, "state dict"
    values = {
        k: v
        for k, v in values.items()
        if not k.startswith(("input/", "output/", "after/", "__meta__"))
    }
    kind = network_kind(network)
    mapping, ignore = {}, [lambda name: name.endswith("num_batches_tracked")]
    if kind == "classifier":
        for k in (1, 2, 3):
            _block(
                mapping,
                f"classifier.Block3_ConvB{k}",
                network.get_layer(f"conv{k}_conv"),
                network.get_layer(f"conv{k}_bn"),
            )
        logits = network.get_layer("logits")
        mapping["classifier.Liniear_F.weight"] = (logits.kernel, _dense_kernel)
        mapping["classifier.Liniear_F.bias"] = logits.bias
    else:
        encoder = network.encoder if kind == "rotnet" else network
        stages = _encoder_mapping(encoder, mapping)
        head = f"_feature_blocks.{stages}.Classifier"
        if kind == "rotnet":
            mapping[f"{head}.weight"] = (network.rotation_head.kernel, _dense_kernel)
            mapping[f"{head}.bias"] = network.rotation_head.bias
        else:
            ignore.append(lambda name, head=head: name.startswith(head + "."))
    assign_by_name(mapping, values, source=where, ignore=ignore)
    return network


FORMATS = {"rotnet_pth": convert_rotnet_pth}
