"""The pix2pix / CycleGAN authors' PyTorch checkpoints into our networks.

junyanz/pytorch-CycleGAN-and-pix2pix saves each network as a bare state
dict (`latest_net_G.pth`, and the released `<name>.pth` generators). This
format reads the three networks of `models/networks.py` into ours:

- `UnetGenerator` -> `keras_ssl.architectures.unet_generator`
  (keys `model.model.<i>.model.<j>...`, one nesting level per depth);
- `ResnetGenerator` -> `cyclegan_resnet_generator` (`model.<i>...`,
  `model.<10 + b>.conv_block.<j>` for residual block b);
- `NLayerDiscriminator` -> `patch_discriminator` (`model.<i>`).

The network kind, its depth and its blocks are read from our network's
layer names, so the same format serves every released model. Checkpoints
saved in 2018 carry `running_mean` / `running_var` / `num_batches_tracked`
for instance-norm layers that have no running statistics; upstream's
loader deletes them (`__patch_instance_norm_state_dict`) and so does this
one. Batch norm's `num_batches_tracked` is not used either.
"""

import os

import numpy as np

from keras_ssl.convert.core import assign_by_name
from keras_ssl.convert.readers import read_torch_state_dict

_BN = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}
_IN_STATS = ("running_mean", "running_var", "num_batches_tracked")
_FIXTURE_KEYS = ("input/", "output/", "after/", "__meta__")


def _conv_kernel(array):
    # Conv2d [out, in, kh, kw] and ConvTranspose2d [in, out, kh, kw] both
    # become Keras' [kh, kw, ., .] by the same transpose.
    return np.transpose(array, (2, 3, 1, 0))


class _Mapping:
    def __init__(self, network):
        self.network = network
        self.names = {layer.name for layer in network.layers}
        self.mapping = {}
        self.ignore = []

    def layer(self, name):
        return self.network.get_layer(name)

    def conv(self, key, name):
        layer = self.layer(name)
        self.mapping[f"{key}.weight"] = (layer.kernel, _conv_kernel)
        if layer.use_bias:
            self.mapping[f"{key}.bias"] = layer.bias

    def norm(self, key, name):
        layer = self.layer(name)
        if layer.__class__.__name__ == "BatchNormalization":
            for torch_name, attribute in _BN.items():
                self.mapping[f"{key}.{torch_name}"] = getattr(layer, attribute)
            self.ignore.append(f"{key}.num_batches_tracked")
        else:
            # Instance norm: no parameters; drop the 2018-era running stats.
            self.ignore.extend(f"{key}.{stat}" for stat in _IN_STATS)


def _count(names, pattern):
    count = 0
    while pattern.format(count) in names:
        count += 1
    return count


def _unet(m):
    num_downs = _count(m.names, "down{}_conv")
    for depth in range(num_downs):
        if depth == 0:
            m.conv("model.model.0", "down0_conv")
            m.conv("model.model.3", "up0_conv")
            continue
        prefix = "model.model.1.model" + ".3.model" * (depth - 1)
        m.conv(f"{prefix}.1", f"down{depth}_conv")
        if depth == num_downs - 1:
            m.conv(f"{prefix}.3", f"up{depth}_conv")
            m.norm(f"{prefix}.4", f"up{depth}_norm")
        else:
            m.norm(f"{prefix}.2", f"down{depth}_norm")
            m.conv(f"{prefix}.5", f"up{depth}_conv")
            m.norm(f"{prefix}.6", f"up{depth}_norm")


def _resnet(m):
    blocks = _count(m.names, "block{}_conv1")
    m.conv("model.1", "stem_conv")
    m.norm("model.2", "stem_norm")
    for i, index in ((1, 4), (2, 7)):
        m.conv(f"model.{index}", f"down{i}_conv")
        m.norm(f"model.{index + 1}", f"down{i}_norm")
    dropout = "block0_dropout" in m.names
    for block in range(blocks):
        key = f"model.{10 + block}.conv_block"
        m.conv(f"{key}.1", f"block{block}_conv1")
        m.norm(f"{key}.2", f"block{block}_norm1")
        second = 6 if dropout else 5
        m.conv(f"{key}.{second}", f"block{block}_conv2")
        m.norm(f"{key}.{second + 1}", f"block{block}_norm2")
    for i, index in ((1, 10 + blocks), (2, 13 + blocks)):
        m.conv(f"model.{index}", f"up{i}_conv")
        m.norm(f"model.{index + 1}", f"up{i}_norm")
    m.conv(f"model.{17 + blocks}", "out_conv")


def _patch(m):
    layers = _count(m.names, "conv{}") - 1
    m.conv("model.0", "conv0")
    for layer in range(1, layers + 1):
        m.conv(f"model.{3 * layer - 1}", f"conv{layer}")
        m.norm(f"model.{3 * layer}", f"conv{layer}_norm")
    m.conv(f"model.{3 * layers + 2}", "logits")


def network_kind(network):
    """`"unet"`, `"resnet"` or `"patch"`: which upstream class `network` is."""
    names = {layer.name for layer in network.layers}
    if {"down0_conv", "up0_conv"} <= names:
        return "unet"
    if "stem_conv" in names and "out_conv" in names:
        return "resnet"
    if "conv0" in names and "logits" in names:
        return "patch"
    raise ValueError(
        "The pix2pix_pth format loads into unet_generator, "
        "cyclegan_resnet_generator or patch_discriminator networks. Received: "
        f"a network {network.name!r} with none of their layer names"
    )


def convert_pix2pix_pth(source, network, key=None):
    """Load an upstream state dict (a `.pth` path or `{name: array}`).

    Args:
        source: a file written by `torch.save(net.state_dict())` (upstream's
            `latest_net_G.pth`, `latest_net_D_A.pth`, a released `<name>.pth`),
            or a dict of numpy arrays under the same keys (entries under
            `input/`, `output/`, `after/` and `__meta__`, as in the reference
            fixtures, are skipped).
        network: our `unet_generator`, `cyclegan_resnet_generator` or
            `patch_discriminator`, with the checkpoint's architecture.
        key: the entry holding the state dict when the file wraps it.

    Returns:
        `network`, every variable loaded (all or nothing).
    """
    if isinstance(source, str | os.PathLike):
        values, where = read_torch_state_dict(source, key=key), os.fspath(source)
    else:
        values, where = {k: np.asarray(v) for k, v in source.items()}, "state dict"
    # The reference fixtures' .npz hold inputs and outputs beside the state dict.
    values = {k: v for k, v in values.items() if not k.startswith(_FIXTURE_KEYS)}
    m = _Mapping(network)
    {"unet": _unet, "resnet": _resnet, "patch": _patch}[network_kind(network)](m)
    assign_by_name(m.mapping, values, source=where, ignore=m.ignore)
    return network


FORMATS = {"pix2pix_pth": convert_pix2pix_pth}
