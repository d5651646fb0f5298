"""ResNet GAN generators and discriminators, chosen by `style`.

`resnet_generator(image_size, ..., style=...)` and
`resnet_discriminator(image_size, ..., style=...)` build one of:

| style | sizes | network |
|-------|-------|---------|
| "sngan" | 32, 48, 64, 128 | this module's SN-GAN-style networks (below) |
| "resnet_cifar" | 32 | compare_gan's `resnet_cifar`, exactly (`compare_gan_resnet`) |
| "resnet5" | 128 | compare_gan's `resnet5` (SS-GAN ImageNet), exactly |
| "resnet_biggan" | 32-512 | compare_gan's `resnet_biggan` (BigGAN, S3GAN), exactly |
| "mimicry" | 32, 48, 128 | Mimicry's networks (`mimicry_resnet`) |

`style=None` (the default) is "sngan" below 128 and "resnet5" at 128.
"resnet5" below 128 and "biggan" at 48 and 64 select the SN-GAN-style
networks with the channel plans below (their meaning in earlier releases,
whose presets and shipped weights use them); "biggan" at 128 is
"resnet_biggan". The compare_gan networks take and give images in [-1, 1]
and map to compare_gan's [0, 1] at their boundary (see their modules).

The SN-GAN-style networks. Image size 32 is SN-GAN's CIFAR-10 network (as in
Mimicry): G = dense to 4x4 x (G width), three up-blocks (nearest up-sampling,
1x1 shortcuts), BN-ReLU-conv3x3-tanh; D = four blocks (the first
"optimized", the first two down-sampling), ReLU, global sum pooling,
dense(1). Paper widths: G 256, D 128. Image sizes 48, 64 and 128 use
per-block channel multipliers of `base_channels` (the seed is 6x6 at 48, as
in SN-GAN's STL-10 networks, else 4x4):

| size | plan    | G multipliers (seed, blocks...) | D multipliers       |
|------|---------|---------------------------------|---------------------|
| 48   | resnet5 | 8, 4, 2, 1                      | 1, 2, 4, 8, 16      |
| 48   | biggan  | 16, 8, 4, 2                     | 1, 2, 4, 8, 16      |
| 64   | resnet5 | 8, 8, 4, 2, 1                   | 1, 2, 4, 8, 16      |
| 64   | biggan  | 16, 16, 8, 4, 2                 | 1, 2, 4, 8, 16      |
| 128  | resnet5 | 8, 8, 4, 4, 2, 1                | 1, 2, 4, 8, 16, 16  |

Every D block down-samples except the last. Default width 64 (resnet5 plan)
or 96 (biggan plan).
"""

import numbers

import keras
from keras import ops

from keras_ssl.layers.discriminator_block import DiscriminatorBlock
from keras_ssl.layers.generator_block import NORMALIZATIONS, GeneratorBlock

IMAGE_SIZES = (32, 48, 64, 128)
# "sngan": the networks above. compare_gan's exact networks live in
# compare_gan_resnet / compare_gan_biggan, Mimicry's in mimicry_resnet.
COMPARE_GAN_STYLES = ("resnet_cifar", "resnet5", "resnet_biggan")
STYLES = (None, "sngan", "mimicry") + COMPARE_GAN_STYLES + ("biggan",)
_PLANS = ("resnet5", "biggan")

_G_MULTIPLIERS = {
    (48, "resnet5"): (8, 4, 2, 1),
    (48, "biggan"): (16, 8, 4, 2),
    (64, "resnet5"): (8, 8, 4, 2, 1),
    (64, "biggan"): (16, 16, 8, 4, 2),
    (128, "resnet5"): (8, 8, 4, 4, 2, 1),
    (128, "biggan"): (16, 16, 8, 4, 2, 1),
}
_D_MULTIPLIERS = {48: (1, 2, 4, 8, 16), 64: (1, 2, 4, 8, 16), 128: (1, 2, 4, 8, 16, 16)}


def check_image_size(image_size, supported=IMAGE_SIZES, what="architecture"):
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, numbers.Integral)
        or image_size not in supported
    ):
        raise ValueError(
            f"image_size must be one of {tuple(supported)} for the {what}. "
            f"Received: image_size={image_size!r}"
        )
    return int(image_size)


def _check_positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
    return int(value)


def _check_style(style):
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}. Received: style={style!r}")
    return style


def resolve_style(style, image_size):
    """The network family that builds `(style, image_size)`.

    Returns "sngan" (this module's networks; `plan` picks the channel plan
    at 48-128), "mimicry" or a compare_gan style, and the plan.
    None means "sngan" below 128 and compare_gan's "resnet5" at 128.
    "resnet5" below 128 keeps selecting the SN-GAN networks (earlier
    releases ignored the style at 32 and used it as a channel plan at 48
    and 64; compare_gan's resnet5 is its 128x128 network). "biggan" is
    "resnet_biggan" at 128 and the BigGAN channel plan of the SN-GAN
    networks at 48 and 64.
    """
    _check_style(style)
    if style is None:
        style = "resnet5" if image_size == 128 else "sngan"
    if style == "biggan":
        style = "resnet_biggan" if image_size == 128 else "sngan_biggan"
    if style == "resnet5" and image_size != 128:
        return "sngan", "resnet5"
    if style == "sngan_biggan":
        return "sngan", "biggan"
    if style == "sngan":
        return "sngan", "resnet5"
    return style, None


def _check_attention(attention_resolution, resolutions):
    if attention_resolution is None:
        return None
    if attention_resolution not in resolutions:
        raise ValueError(
            "attention_resolution must be None or one of the network's block "
            f"resolutions {tuple(sorted(set(resolutions)))}. "
            f"Received: attention_resolution={attention_resolution!r}"
        )
    return attention_resolution


def _generator_plan(image_size, style, base_channels):
    """Seed size, seed channels and the output channels of each up-block."""
    if image_size == 32:
        width = 256 if base_channels is None else base_channels
        return 4, width, (width, width, width)
    width = (
        (64 if style == "resnet5" else 96) if base_channels is None else base_channels
    )
    multipliers = _G_MULTIPLIERS[(image_size, style)]
    seed = 6 if image_size == 48 else 4
    return seed, width * multipliers[0], tuple(width * m for m in multipliers[1:])


def _discriminator_plan(image_size, style, base_channels):
    """(filters, downsample) of each block."""
    if image_size == 32:
        width = 128 if base_channels is None else base_channels
        return ((width, True), (width, True), (width, False), (width, False))
    width = (
        (64 if style == "resnet5" else 96) if base_channels is None else base_channels
    )
    multipliers = _D_MULTIPLIERS[image_size]
    last = len(multipliers) - 1
    return tuple((width * m, i != last) for i, m in enumerate(multipliers))


def _dense(units, spectral_norm, name, use_bias=True):
    from keras_ssl.layers.spectral_normalization import SpectralNormalization

    layer = keras.layers.Dense(units, use_bias=use_bias, name=name)
    return SpectralNormalization(layer, name=f"sn_{name}") if spectral_norm else layer


def _attention(name):
    from keras_ssl.layers.self_attention_2d import SelfAttention2D

    return SelfAttention2D(name=name)


@keras.saving.register_keras_serializable(package="keras_ssl")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sums (B, H, W, C) over H and W, the discriminators' pooling in SN-GAN."""

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="keras_ssl")
class FillUnknownLabels(keras.layers.Layer):
    """Labels where known (>= 0), else the argmax of the class logits.

    The class logits are a constant here (gradient stopped): the S3GAN
    discriminator uses its own prediction as the label of an unlabelled real
    image in the projection term, without training its classifier on it.
    """

    def call(self, labels, class_logits):
        labels = ops.cast(labels, "int32")
        if len(labels.shape) == 2:
            labels = ops.squeeze(labels, axis=-1)
        predicted = ops.cast(
            ops.argmax(ops.stop_gradient(class_logits), axis=-1), "int32"
        )
        return ops.where(labels >= 0, labels, predicted)

    def compute_output_shape(self, labels_shape, class_logits_shape):
        return (labels_shape[0],)


def resnet_generator(
    image_size,
    z_dim=128,
    base_channels=None,
    channels=3,
    num_classes=None,
    normalization=None,
    attention_resolution="default",
    style=None,
    spectral_norm=None,
    hidden_units=32,
    momentum=0.9,
    name="generator",
    **options,
):
    """ResNet generator `z (B, z_dim) [, labels (B,)] -> images (B, S, S, C)`.

    Outputs are in [-1, 1] (tanh). See the module docstring for the widths.

    Args:
        image_size: 32, 48, 64 or 128.
        z_dim: size of the latent vector.
        base_channels: width; defaults to 256 at 32 (the block width), else
            64 (resnet5) or 96 (BigGAN) as the channel multipliers' unit.
        channels: output image channels (3 for RGB, 1 for grey images).
        num_classes: number of classes; with it the generator takes
            `[z, labels]` and uses conditional batch norm.
        normalization: "batch", "self_modulated" (SS-GAN's sBN on z) or
            "conditional"; defaults to "conditional" when `num_classes` is
            set, else "batch".
        attention_resolution: resolution after whose up-block a
            `SelfAttention2D` is inserted; "default" means 64 for the BigGAN
            style at 128 and none otherwise.
        style: None, "sngan", "resnet_cifar", "resnet5", "resnet_biggan",
            "biggan" or "mimicry" (see the module docstring). Other keyword
            arguments go to the style's builder (e.g. `statistics` of
            `compare_gan_biggan.biggan_generator`, `project_y` of the
            compare_gan discriminators).
        spectral_norm: spectral norm in G; defaults to True for BigGAN.
        hidden_units: hidden width of the self-modulation MLP.
        momentum: momentum of the batch-norm moving statistics.
        name: model name.

    Example:

    >>> g = resnet_generator(32, z_dim=16, base_channels=8)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 32, 32, 3)
    """
    family, style = resolve_style(style, image_size)
    arguments = {
        "z_dim": z_dim,
        "base_channels": base_channels,
        "channels": channels,
        "num_classes": num_classes,
        "normalization": normalization,
        "attention_resolution": attention_resolution,
        "spectral_norm": spectral_norm,
        "hidden_units": hidden_units,
        "momentum": momentum,
        "name": name,
        **options,
    }
    if family == "mimicry":
        from keras_ssl.architectures.mimicry_resnet import mimicry_generator

        return mimicry_generator(image_size, **arguments)
    if family in COMPARE_GAN_STYLES:
        from keras_ssl.architectures.compare_gan_resnet import compare_gan_generator

        return compare_gan_generator(image_size, style=family, **arguments)
    if options:
        raise TypeError(f"Unknown arguments for style='sngan': {sorted(options)}")
    image_size = check_image_size(image_size, what="ResNet generator")
    z_dim = _check_positive_int(z_dim, "z_dim")
    channels = _check_positive_int(channels, "channels")
    base_channels = _check_positive_int(base_channels, "base_channels", True)
    num_classes = _check_positive_int(num_classes, "num_classes", True)
    if normalization is None:
        normalization = "batch" if num_classes is None else "conditional"
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {NORMALIZATIONS}. "
            f"Received: normalization={normalization!r}"
        )
    if normalization == "conditional" and num_classes is None:
        raise ValueError(
            "normalization='conditional' needs num_classes. Received: num_classes=None"
        )
    biggan = style == "biggan" and image_size != 32
    if spectral_norm is None:
        spectral_norm = biggan
    seed, seed_channels, block_channels = _generator_plan(
        image_size, style, base_channels
    )
    resolutions = [seed * 2 ** (i + 1) for i in range(len(block_channels))]
    if attention_resolution == "default":
        attention_resolution = 64 if biggan and image_size == 128 else None
    attention_resolution = _check_attention(attention_resolution, resolutions)

    z = keras.Input((z_dim,), name="z")
    inputs = [z]
    condition = None
    if normalization == "self_modulated":
        condition = z
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        if normalization == "conditional":
            condition = labels
    x = _dense(seed * seed * seed_channels, spectral_norm, "seed")(z)
    x = keras.layers.Reshape((seed, seed, seed_channels), name="seed_reshape")(x)
    for i, (filters, resolution) in enumerate(zip(block_channels, resolutions)):
        block = GeneratorBlock(
            filters,
            normalization=normalization,
            num_classes=num_classes,
            hidden_units=hidden_units,
            spectral_norm=spectral_norm,
            momentum=momentum,
            name=f"block_{i + 1}",
        )
        x = block(x) if condition is None else block(x, condition)
        if resolution == attention_resolution:
            x = _attention(f"attention_{resolution}")(x)
    x = keras.layers.BatchNormalization(
        momentum=momentum, epsilon=1e-5, name="final_bn"
    )(x)
    x = keras.layers.ReLU(name="final_relu")(x)
    conv = keras.layers.Conv2D(channels, 3, padding="same", name="final_conv")
    if spectral_norm:
        from keras_ssl.layers.spectral_normalization import SpectralNormalization

        conv = SpectralNormalization(conv, name="sn_final_conv")
    x = conv(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(inputs if len(inputs) > 1 else z, images, name=name)


def resnet_discriminator(
    image_size,
    base_channels=None,
    channels=3,
    spectral_norm=True,
    num_classes=None,
    rotation_head=False,
    class_head=False,
    attention_resolution="default",
    style=None,
    pooling=None,
    name="discriminator",
    **options,
):
    """ResNet discriminator `images [, labels] -> dict of outputs`.

    Outputs (a dict):
        "logits": (B, 1) real/fake logit; with `num_classes` the projection
            term `<embed(y), features>` is added (Miyato & Koyama 2018).
        "features": (B, F) pooled features (F = last block's width).
        "rotation_logits": (B, 4) when `rotation_head` (SS-GAN).
        "class_logits": (B, num_classes) when `class_head` (S3GAN).

    With `num_classes` the model takes `[images, labels]`, labels int (B,).
    With `class_head` as well, a label of -1 means "unknown": the projection
    then uses the class head's argmax (gradient stopped), as S3GAN does for
    unlabelled real images.

    Args:
        image_size: 32, 48, 64 or 128.
        base_channels: width; defaults to 128 at 32, else 64 (resnet5) or 96
            (BigGAN) as the multipliers' unit.
        channels: input image channels.
        spectral_norm: spectral norm on every convolution and dense layer.
        num_classes: classes of the projection term (conditional D).
        rotation_head: add a 4-way rotation classifier on the features.
        class_head: add a `num_classes`-way classifier on the features.
        attention_resolution: resolution after whose block a
            `SelfAttention2D` is inserted; "default" means 64 for the BigGAN
            style at 128 (after the first block) and none otherwise.
        style: None, "sngan", "resnet_cifar", "resnet5", "resnet_biggan",
            "biggan" or "mimicry" (see the module docstring). Other keyword
            arguments go to the style's builder (e.g. `statistics` of
            `compare_gan_biggan.biggan_generator`, `project_y` of the
            compare_gan discriminators).
        pooling: "sum" or "mean" global pooling; None: the style's own
            ("sum" for "sngan").
        name: model name.

    Example:

    >>> d = resnet_discriminator(32, base_channels=8, rotation_head=True)
    >>> out = d(keras.ops.zeros((2, 32, 32, 3)))
    >>> tuple(out["logits"].shape), tuple(out["rotation_logits"].shape)
    ((2, 1), (2, 4))
    """
    family, style = resolve_style(style, image_size)
    arguments = {
        "base_channels": base_channels,
        "channels": channels,
        "spectral_norm": spectral_norm,
        "num_classes": num_classes,
        "rotation_head": rotation_head,
        "class_head": class_head,
        "attention_resolution": attention_resolution,
        "pooling": pooling,
        "name": name,
        **options,
    }
    if family == "mimicry":
        from keras_ssl.architectures.mimicry_resnet import mimicry_discriminator

        return mimicry_discriminator(image_size, **arguments)
    if family in COMPARE_GAN_STYLES:
        from keras_ssl.architectures.compare_gan_resnet import (
            compare_gan_discriminator,
        )

        return compare_gan_discriminator(image_size, style=family, **arguments)
    if options:
        raise TypeError(f"Unknown arguments for style='sngan': {sorted(options)}")
    pooling = "sum" if pooling is None else pooling
    image_size = check_image_size(image_size, what="ResNet discriminator")
    channels = _check_positive_int(channels, "channels")
    base_channels = _check_positive_int(base_channels, "base_channels", True)
    num_classes = _check_positive_int(num_classes, "num_classes", True)
    if pooling not in ("sum", "mean"):
        raise ValueError(
            f"pooling must be 'sum' or 'mean'. Received: pooling={pooling!r}"
        )
    if class_head and num_classes is None:
        raise ValueError(
            "class_head=True needs num_classes. Received: num_classes=None"
        )
    biggan = style == "biggan" and image_size != 32
    plan = _discriminator_plan(image_size, style, base_channels)
    resolutions, resolution = [], image_size
    for _, downsample in plan:
        resolution = resolution // 2 if downsample else resolution
        resolutions.append(resolution)
    if attention_resolution == "default":
        attention_resolution = 64 if biggan and image_size == 128 else None
    attention_resolution = _check_attention(attention_resolution, resolutions)

    images = keras.Input((image_size, image_size, channels), name="images")
    inputs = images
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [images, labels]
    x = images
    attended = False
    for i, ((filters, downsample), resolution) in enumerate(zip(plan, resolutions)):
        x = DiscriminatorBlock(
            filters,
            downsample=downsample,
            optimized=i == 0,
            spectral_norm=spectral_norm,
            name=f"block_{i + 1}",
        )(x)
        if resolution == attention_resolution and not attended:
            x = _attention(f"attention_{resolution}")(x)
            attended = True
    x = keras.layers.ReLU(name="final_relu")(x)
    if pooling == "sum":
        features = GlobalSumPooling2D(name="features")(x)
    else:
        features = keras.layers.GlobalAveragePooling2D(name="features")(x)
    logits = _dense(1, spectral_norm, "logits")(features)
    outputs = {"features": features}
    if rotation_head:
        outputs["rotation_logits"] = _dense(4, spectral_norm, "rotation_logits")(
            features
        )
    if class_head:
        class_logits = _dense(num_classes, spectral_norm, "class_logits")(features)
        outputs["class_logits"] = class_logits
        labels = FillUnknownLabels(name="fill_unknown_labels")(labels, class_logits)
    if num_classes is not None:
        from keras_ssl.layers.class_projection import ClassProjection

        projection = ClassProjection(
            num_classes, use_spectral_norm=spectral_norm, name="projection"
        )(features, labels)
        logits = keras.layers.Add(name="projected_logits")([logits, projection])
    outputs["logits"] = logits
    return keras.Model(inputs, outputs, name=name)
