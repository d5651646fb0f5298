"""compare_gan's `resnet_biggan` networks (BigGAN; S3GAN's ImageNet networks).

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity
Natural Image Synthesis", ICLR 2019, as re-implemented in google/compare_gan
(`architectures/resnet_biggan.py` with `example_configs/biggan_imagenet128.gin`)
and used by Lucic et al., "High-Fidelity Image Generation With Fewer Labels"
(S3GAN), ICML 2019. Layers are named after compare_gan's variable scopes
("/" written "."), so its checkpoints and TF-Hub modules load by exact name
(`keras_ssl.convert.compare_gan`).

Generator (128x128, ch 96, z 120): z is split into 6 equal chunks; the first
goes through `fc_noise` (SN linear) to a 4x4 x 16 ch seed; block i is
conditioned on `[z_i, e(y)]`, where `e = embed_y` is a shared 128-d class
embedding (linear, no bias, no SN). Each block: cBN (gamma and beta are SN
linear maps of `[z_i, e(y)]`, no bias), ReLU, zero-insertion up-sampling,
conv3x3, cBN, ReLU, conv3x3, plus an up-sampled 1x1 conv shortcut; channels
ch x [16, 16, 8, 4, 2, 1]; a non-local block (SN, keys and values 2x2
max-pooled) after B4 (64x64); then an unconditional BN, ReLU, SN conv3x3 and
tanh. compare_gan returns (tanh + 1) / 2 in [0, 1]; ours returns the tanh
itself, in [-1, 1] (`ours = 2 * original - 1`).

Batch norm uses accumulated ("standing") statistics at inference
(`StandingBatchNormalization`): compare_gan fills them after training with
204,800 generated samples; `accumulate_standing_statistics` does the same.

Discriminator (ch 96): blocks ch x [1, 2, 4, 8, 16, 16]: ReLU, conv3x3, ReLU,
conv3x3, 2x2 average pool (not in the last block), with a 1x1 conv shortcut
only where the width changes; the non-local block after B1; ReLU, sum
pooling, SN linear; with labels, the projection `embedding_fc` (SN,
glorot-normal). It takes images in [-1, 1] and maps them to compare_gan's
[0, 1] first (`x01 = (x + 1) / 2`).

Widths: G 70,433,988 / D 87,982,370 trainable parameters at ch 96 with 1000
classes (compare_gan's docstring), plus S3GAN's heads.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.compare_gan_resnet import (
    Builder,
    check_discriminator_args,
    check_normalization,
    check_size,
    discriminator_heads,
    discriminator_inputs,
    generator_inputs,
    one_hot,
    resnet_block,
)
from keras_ssl.layers.self_attention_2d import SelfAttention2D
from keras_ssl.utils.validation import check_choice, check_int

IMAGE_SIZES = (32, 64, 128, 256, 512)
G_MULTIPLIERS = {
    512: (16, 16, 8, 8, 4, 2, 1, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
    128: (16, 16, 8, 4, 2, 1),
    64: (16, 16, 8, 4, 2),
    32: (4, 4, 4, 4),
}
D_MULTIPLIERS = {
    512: (1, 1, 2, 4, 8, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
    128: (1, 2, 4, 8, 16, 16),
    64: (2, 4, 8, 16, 16),
    32: (2, 2, 2, 2),
}
# compare_gan's gin settings per resolution (its docstring); elsewhere the
# class defaults "B4" (G) and "B1" (D).
ATTENTION_BLOCKS = {256: ("B5", "B2"), 512: ("B4", "B3")}
STATISTICS = ("accumulated", "moving")


def _attention_block(attention_resolution, resolutions, default, what):
    """The 1-based block after which the non-local block sits, or None."""
    if attention_resolution is None:
        return None
    if attention_resolution == "default":
        index = int(default[1:])
        return index if index <= len(resolutions) else None
    if attention_resolution not in resolutions:
        raise ValueError(
            "attention_resolution must be 'default', None or one of the "
            f"{what}'s block resolutions {tuple(sorted(set(resolutions)))}. "
            f"Received: attention_resolution={attention_resolution!r}"
        )
    return resolutions.index(attention_resolution) + 1


def _non_local(builder, name, spectral_norm):
    return SelfAttention2D(
        channels_reduction=8,
        value_channels_reduction=2,
        downsample=True,
        use_spectral_norm=spectral_norm,
        singular_vector=builder.singular_vector,
        update_at_inference=True,
        kernel_initializer=builder.init(),
        name=name,
    )


@keras.saving.register_keras_serializable(package="keras_ssl")
class SplitLatent(keras.layers.Layer):
    """Splits z (B, Z) into `num_chunks` equal chunks (BigGAN's hierarchical z)."""

    def __init__(self, num_chunks, **kwargs):
        super().__init__(**kwargs)
        self.num_chunks = check_int(num_chunks, "num_chunks")

    def call(self, z):
        return ops.split(z, self.num_chunks, axis=-1)

    def compute_output_shape(self, input_shape):
        size = input_shape[-1] // self.num_chunks
        return [(input_shape[0], size)] * self.num_chunks

    def get_config(self):
        config = super().get_config()
        config["num_chunks"] = self.num_chunks
        return config


def biggan_generator(
    image_size,
    z_dim=120,
    base_channels=None,
    channels=3,
    num_classes=None,
    normalization=None,
    attention_resolution="default",
    spectral_norm=None,
    momentum=0.9,
    statistics="accumulated",
    embed_dim=128,
    hidden_units=32,
    name="generator",
):
    """compare_gan's `resnet_biggan` generator (see the module docstring).

    `z (B, z_dim) [, labels (B,)] -> images (B, S, S, channels)` in [-1, 1].

    Args:
        image_size: 32, 64, 128, 256 or 512.
        z_dim: latent size, divisible by (number of blocks + 1) (120 at 128).
        base_channels: `ch` (96).
        channels: image channels.
        num_classes: with it G takes `[z, labels]` and each block's cBN is
            conditioned on `[z_i, embed_y(y)]`.
        normalization: "conditional" (default with `num_classes`) or
            "batch" (unconditional; compare_gan's BigGAN with plain BN).
        attention_resolution: "default" (after B4 at 128), None or a block
            output resolution.
        spectral_norm: spectral norm in G (default True, BigGAN).
        momentum: moving-average decay (statistics="moving" only).
        statistics: "accumulated" (standing statistics, compare_gan's BigGAN
            config) or "moving" (moving averages).
        embed_dim: width of the shared class embedding (128).
        hidden_units: unused (the signature of `resnet_generator`).
        name: model name.

    Example:

    >>> g = biggan_generator(32, z_dim=20, base_channels=2, num_classes=5)
    >>> tuple(g([keras.ops.zeros((2, 20)), keras.ops.zeros((2,), "int32")],
    ...         training=True).shape)
    (2, 32, 32, 3)
    """
    image_size = check_size(image_size, "resnet_biggan", IMAGE_SIZES)
    z_dim = check_int(z_dim, "z_dim")
    channels = check_int(channels, "channels")
    num_classes = check_int(num_classes, "num_classes", allow_none=True)
    ch = check_int(base_channels, "base_channels", allow_none=True) or 96
    embed_dim = check_int(embed_dim, "embed_dim")
    statistics = check_choice(statistics, "statistics", STATISTICS)
    spectral_norm = True if spectral_norm is None else bool(spectral_norm)
    normalization = check_normalization(
        normalization, num_classes, spectral_norm, "resnet_biggan"
    )
    if normalization == "self_modulated":
        raise ValueError(
            "style='resnet_biggan' supports normalization 'conditional' or "
            "'batch'. Received: normalization='self_modulated'"
        )
    multipliers = G_MULTIPLIERS[image_size]
    num_blocks = len(multipliers) - 1
    if z_dim % (num_blocks + 1):
        raise ValueError(
            f"z_dim must be divisible by {num_blocks + 1} (BigGAN splits z into "
            f"one chunk per block plus one at {image_size}x{image_size}). "
            f"Received: z_dim={z_dim}"
        )
    resolutions = [4 * 2 ** (i + 1) for i in range(num_blocks)]
    default = ATTENTION_BLOCKS.get(image_size, ("B4", "B1"))[0]
    attention = _attention_block(
        attention_resolution, resolutions, default, "generator"
    )
    builder = Builder("orthogonal", "auto", momentum=momentum)
    z, labels, inputs = generator_inputs(z_dim, num_classes)
    chunks = SplitLatent(num_blocks + 1, name="generator.split_z")(z)
    embedded = None
    if normalization == "conditional":
        y = one_hot(labels, num_classes, "generator.one_hot_y")
        embedded = builder.dense(embed_dim, "generator.embed_y", False, use_bias=False)(
            y
        )
    options = {"statistics": statistics}
    x = builder.dense(16 * ch * multipliers[0], "generator.fc_noise", spectral_norm)(
        chunks[0]
    )
    x = keras.layers.Reshape((4, 4, ch * multipliers[0]), name="generator.fc_reshaped")(
        x
    )
    for i in range(num_blocks):
        scope = f"generator.B{i + 1}"
        condition = None
        if embedded is not None:
            condition = keras.layers.Concatenate(name=f"{scope}.condition")(
                [chunks[i + 1], embedded]
            )

        def norm(h, bn_scope, condition=condition):
            return builder.normalize(
                h, bn_scope, normalization, condition, spectral_norm, options
            )

        x = resnet_block(
            x,
            builder,
            scope,
            ch * multipliers[i + 1],
            "up",
            True,
            spectral_norm,
            norm=norm,
            shortcut_kernel=1,
        )
        if attention == i + 1:
            x = _non_local(builder, "generator.non_local_block", spectral_norm)(x)
    x = builder.batch_norm("generator.final_norm", statistics)(x)
    x = keras.layers.ReLU(name="generator.final_relu")(x)
    x = builder.conv(channels, 3, "generator.final_conv", spectral_norm)(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(inputs, images, name=name)


def biggan_discriminator(
    image_size,
    base_channels=None,
    channels=3,
    spectral_norm=True,
    num_classes=None,
    rotation_head=False,
    class_head=False,
    attention_resolution="default",
    pooling=None,
    project_y=None,
    name="discriminator",
):
    """compare_gan's `resnet_biggan` discriminator (see the module docstring).

    `images [, labels] -> {"logits", "features"[, "rotation_logits",
    "class_logits"]}`, images in [-1, 1].

    Args:
        image_size: 32, 64, 128, 256 or 512.
        base_channels: `ch` (96).
        channels: 1 or 3.
        spectral_norm: spectral norm everywhere (BigGAN: True).
        num_classes: classes of the label input.
        rotation_head: SS-GAN rotation head (`discriminator_rotation`).
        class_head: S3GAN's predictor and projection with predicted labels
            for unknown (-1) labels (`discriminator_predictor`,
            `discriminator_projection`).
        attention_resolution: "default" (after B1 at 128), None or a block
            output resolution.
        pooling: None or "sum" (compare_gan sum-pools here).
        project_y: the architecture's own projection `embedding_fc` with the
            given labels (an unknown label contributes 0); default True with
            `num_classes` (compare_gan's default, which its S3GAN test keeps).
        name: model name.

    Example:

    >>> d = biggan_discriminator(32, base_channels=4, num_classes=5,
    ...                          rotation_head=True, class_head=True)
    >>> sorted(d.output)
    ['class_logits', 'features', 'logits', 'rotation_logits']
    """
    image_size = check_size(image_size, "resnet_biggan", IMAGE_SIZES)
    channels, num_classes = check_discriminator_args(
        channels, num_classes, class_head, pooling, "resnet_biggan", "sum"
    )
    ch = check_int(base_channels, "base_channels", allow_none=True) or 96
    spectral_norm = bool(spectral_norm)
    if project_y is None:
        project_y = num_classes is not None
    if project_y and num_classes is None:
        raise ValueError("project_y=True needs num_classes. Received: None")
    multipliers = D_MULTIPLIERS[image_size]
    widths = [ch * m for m in multipliers]
    resolutions, size = [], image_size
    for i in range(len(widths)):
        size = size if i == len(widths) - 1 else size // 2
        resolutions.append(size)
    default = ATTENTION_BLOCKS.get(image_size, ("B4", "B1"))[1]
    attention = _attention_block(
        attention_resolution, resolutions, default, "discriminator"
    )
    builder = Builder("orthogonal", "auto")
    images, labels, inputs = discriminator_inputs(image_size, channels, num_classes)
    x = keras.layers.Rescaling(0.5, offset=0.5, name="images_01")(images)
    in_channels = channels
    for i, filters in enumerate(widths):
        last = i == len(widths) - 1
        # compare_gan's D blocks have a shortcut only where the width changes.
        x = resnet_block(
            x,
            builder,
            f"discriminator.B{i + 1}",
            filters,
            "none" if last else "down",
            False,
            spectral_norm,
            shortcut_kernel=1 if in_channels != filters else None,
        )
        in_channels = filters
        if attention == i + 1:
            x = _non_local(builder, "discriminator.non_local_block", spectral_norm)(x)
    x = keras.layers.ReLU(name="discriminator.final_relu")(x)
    from keras_ssl.architectures.resnet_gan import GlobalSumPooling2D

    features = GlobalSumPooling2D(name="features")(x)
    outputs = discriminator_heads(
        builder,
        features,
        labels,
        num_classes,
        rotation_head,
        class_head,
        spectral_norm,
        project_y,
        "discriminator.final_fc",
    )
    return keras.Model(inputs, outputs, name=name)


def _standing_layers(generator):
    from keras_ssl.layers.standing_batch_normalization import (
        StandingBatchNormalization,
    )

    found = []

    def visit(layer):
        if isinstance(layer, StandingBatchNormalization):
            found.append(layer)
        for child in getattr(layer, "_layers", []) or []:
            visit(child)
        inner = getattr(layer, "batch_norm", None)
        if isinstance(inner, StandingBatchNormalization) and inner not in found:
            found.append(inner)

    for layer in generator.layers:
        visit(layer)
    return found


def accumulate_standing_statistics(
    generator, num_samples=204800, batch_size=256, num_classes=None, seed=0
):
    """Fill the generator's standing batch-norm statistics, as compare_gan does.

    Resets every accumulator, then runs `num_samples` generated samples in
    inference mode with `update_accus = 1` (each call adds its batch mean and
    variance), and sets `update_accus` back to 0. compare_gan's evaluation
    uses 204,800 samples with z ~ N(0, I) and uniform labels.

    Args:
        generator: a model built with `statistics="accumulated"`.
        num_samples: samples to accumulate over.
        batch_size: samples per forward pass.
        num_classes: classes to draw labels from (conditional generators;
            read from the model when None).
        seed: seed of z and the labels.

    Returns:
        The number of layers filled.
    """
    layers = _standing_layers(generator)
    if not layers:
        raise ValueError(
            "accumulate_standing_statistics needs a generator with standing "
            "batch norm (built with statistics='accumulated')."
        )
    for layer in layers:
        layer.start_accumulating()
    rng = np.random.default_rng(seed)
    z_dim = int(generator.inputs[0].shape[-1])
    conditional = len(generator.inputs) > 1
    if conditional and num_classes is None:
        for layer in generator.layers:
            if hasattr(layer, "num_classes"):
                num_classes = layer.num_classes
                break
    try:
        for start in range(0, int(num_samples), int(batch_size)):
            n = min(int(batch_size), int(num_samples) - start)
            z = rng.standard_normal((n, z_dim)).astype("float32")
            if conditional:
                labels = rng.integers(0, num_classes, size=n).astype("int32")
                generator([z, labels], training=False)
            else:
                generator(z, training=False)
    finally:
        for layer in layers:
            layer.stop_accumulating()
    return len(layers)
