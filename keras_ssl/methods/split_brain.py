"""Split-brain autoencoders: each half of a network predicts the other's channels.

Reference: Zhang, Isola & Efros, "Split-Brain Autoencoders: Unsupervised
Learning by Cross-Channel Prediction", CVPR 2017.

The network is split into two half-width sub-networks on disjoint channel
groups of a Lab image: F1 sees L and predicts ab, F2 sees ab and predicts L.
Both are classifications over quantised targets (the paper found them better
than regression): ab over the ab bins without rebalancing, L over 50 bins of
width 2 on [0, 100],

    L = CE(F1(L), q_ab(ab)) + CE(F2(ab), q_L(L)),

at the sub-networks' output resolution (targets area-averaged to it). The
representation is both halves' features concatenated: `.encoder` maps an RGB
image to concat(F1(L), F2(ab)).

Defaults vs the paper: the paper's halves are AlexNet (half width each) on
ImageNet; here any named encoder builds each half (NIN by default) with the
width given, so pass half the width a single network would have. Targets
are hard (nearest bin), as in the paper.
"""

import keras
from keras import layers, ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.colorization import (
    COLOR_METRICS,
    LabChannels,
    color_quality,
    colorize_images,
    preview_columns,
    resize,
)
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import accuracy
from keras_ssl.ops.color import annealed_mean, check_bins, images_to_lab, nearest_bin
from keras_ssl.utils.validation import check_int, check_number

LIGHTNESS_BIN_WIDTH = 2.0


def split_brain_encoder(lightness_network, color_network, name="split_brain_encoder"):
    """`.encoder` of SplitBrain: RGB in [-1, 1] -> concat(F1(L), F2(ab)).

    Args:
        lightness_network: a `keras.Model` of normalised L (B, H, W, 1),
            (L - 50) / 100, to a feature map.
        color_network: a `keras.Model` of normalised ab (B, H, W, 2), ab /
            110, to a feature map of the same resolution.
    """
    shape = tuple(lightness_network.inputs[0].shape[1:3])
    inputs = keras.Input(shape + (3,), name="images")
    lightness = LabChannels("L", name="lightness")(inputs)
    color = LabChannels("ab", name="color")(inputs)
    features = layers.Concatenate(name="features")(
        [lightness_network(lightness), color_network(color)]
    )
    return keras.Model(inputs, features, name=name)


@keras.saving.register_keras_serializable(package="keras_ssl")
class SplitBrain(PretextTask):
    """Split-brain autoencoder (Zhang et al., CVPR 2017).

    Args:
        encoder: a model from `split_brain_encoder(lightness_network,
            color_network)`; its sub-models are found by their names.
        bins: ab bin centres (Q, 2) for the L -> ab classifier; None for
            `keras_ssl.ops.ab_bins(10)`.
        lightness_bins: bins of width 100 / lightness_bins for ab -> L (50).
        temperature: annealed mean T of the colours behind the metrics.
        **kwargs: `keras.Model` arguments.

    `fit` logs `pretext_loss` (sum of both), `pretext_accuracy` (their mean),
    `l_to_ab_loss`, `ab_to_l_loss`, `l_to_ab_accuracy`, `ab_to_l_accuracy`,
    and the colour error and PSNR of the L -> ab half's colours.

    Example:

    >>> import numpy as np
    >>> model = build_split_brain(16, encoder_config={"width": 4, "num_blocks": 3})
    >>> images = np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    >>> model.encoder(images).shape
    TensorShape([4, 4, 4, 8])
    """

    metric_names = (
        PretextTask.metric_names
        + ("l_to_ab_loss", "ab_to_l_loss", "l_to_ab_accuracy", "ab_to_l_accuracy")
        + COLOR_METRICS
    )

    def __init__(
        self, encoder, bins=None, lightness_bins=50, temperature=0.38, **kwargs
    ):
        super().__init__(encoder, **kwargs)
        names = [layer.name for layer in encoder.layers]
        networks = [layer for layer in encoder.layers if isinstance(layer, keras.Model)]
        if len(networks) != 2:
            raise ValueError(
                "SplitBrain needs an encoder made by split_brain_encoder(), with "
                f"two sub-networks. Received: encoder layers={names}"
            )
        self.lightness_network, self.color_network = networks
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        self.bins_config = None if bins is None else check_bins(bins).tolist()
        table = check_bins(bins)
        self.num_bins = int(table.shape[0])
        self.bins = self.add_weight(
            name="bins",
            shape=table.shape,
            initializer=keras.initializers.Constant(table),
            trainable=False,
        )
        self.lightness_bins = check_int(lightness_bins, "lightness_bins", minimum=2)
        self.temperature = check_number(
            temperature, "temperature", minimum=0, exclusive_minimum=True
        )
        self.ab_head = layers.Conv2D(self.num_bins, 1, name="ab_head")
        self.ab_head.build(self.lightness_network.outputs[0].shape)
        self.lightness_head = layers.Conv2D(self.lightness_bins, 1, name="l_head")
        self.lightness_head.build(self.color_network.outputs[0].shape)

    def call(self, inputs, training=False):
        images = self.batch_images(inputs)
        return self.head_outputs(images, training=training)

    def head_outputs(self, images, training=False):
        """`(ab logits from L, L logits from ab)` of a batch of images."""
        lab = images_to_lab(images)
        lightness = (lab[..., :1] - 50.0) / 100.0
        ab = lab[..., 1:] / 110.0
        ab_logits = self.ab_head(self.lightness_network(lightness, training=training))
        l_logits = self.lightness_head(self.color_network(ab, training=training))
        return ab_logits, l_logits

    def pretext_logs(self, images, training=False):
        lab = images_to_lab(images)
        ab_logits, l_logits = self.head_outputs(images, training=training)
        ab = resize(lab[..., 1:], tuple(ab_logits.shape[1:3]), "area")
        ab_labels = ops.cast(nearest_bin(ab, self.bins), "int32")
        lightness = resize(lab[..., :1], tuple(l_logits.shape[1:3]), "area")[..., 0]
        width = 100.0 / self.lightness_bins
        l_labels = ops.cast(
            ops.clip(ops.floor(lightness / width), 0, self.lightness_bins - 1), "int32"
        )
        ab_loss = self.pretext_loss(ab_logits, ab_labels)
        l_loss = self.pretext_loss(l_logits, l_labels)
        ab_accuracy = accuracy(ab_labels, ab_logits)
        l_accuracy = accuracy(l_labels, l_logits)
        error, psnr = color_quality(
            lab,
            ops.stop_gradient(annealed_mean(ab_logits, self.bins, self.temperature)),
        )
        return {
            "pretext_loss": ab_loss + l_loss,
            "pretext_accuracy": (ab_accuracy + l_accuracy) / 2.0,
            "l_to_ab_loss": ab_loss,
            "ab_to_l_loss": l_loss,
            "l_to_ab_accuracy": ab_accuracy,
            "ab_to_l_accuracy": l_accuracy,
            "color_error": error,
            "psnr": psnr,
        }

    def colorize(self, images, temperature=None, batch_size=32):
        """Colour photos with the L -> ab half; uint8 RGB like `images`."""
        temperature = self.temperature if temperature is None else temperature

        def predict(batch):
            ab_logits, _ = self.head_outputs(batch)
            return annealed_mean(ab_logits, self.bins, temperature)

        return colorize_images(predict, images, self.image_shape[:2], batch_size)

    def preview(self, images, count=None):
        """Columns `[greyscale input, colorized, original]` of uint8 images."""
        return preview_columns(self.colorize, images, count)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bins": self.bins_config,
                "lightness_bins": self.lightness_bins,
                "temperature": self.temperature,
            }
        )
        return config


@register_method("split_brain")
def build_split_brain(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    bins=None,
    lightness_bins=50,
    temperature=0.38,
):
    """SplitBrain with two NIN halves (or another named encoder).

    Args:
        image_size: side of the square training images.
        channels: must be 3.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...)
            built once for L (1 channel) and once for ab (2 channels).
        encoder_config: keyword arguments of that builder for each half (so
            give each half the half width).
        bins, lightness_bins, temperature: see `SplitBrain`.
    """
    check_int(image_size, "image_size", minimum=8)
    if channels != 3:
        raise ValueError(f"SplitBrain needs RGB images. Received: channels={channels}")
    if not isinstance(encoder, str):
        raise TypeError(
            "build_split_brain builds both halves by name; for your own networks "
            "use SplitBrain(split_brain_encoder(l_net, ab_net)). "
            f"Received: encoder={encoder!r}"
        )
    halves = []
    for name, channel_count in (("lightness_network", 1), ("color_network", 2)):
        network = build_encoder(
            encoder, (image_size, image_size, channel_count), encoder_config
        )
        halves.append(keras.Model(network.inputs[0], network.outputs[0], name=name))
    model = SplitBrain(
        split_brain_encoder(*halves),
        bins=bins,
        lightness_bins=lightness_bins,
        temperature=temperature,
        name="split_brain",
    )
    model.compile()
    return model
