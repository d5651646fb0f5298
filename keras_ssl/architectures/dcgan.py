"""DCGAN-style generator and discriminator for small experiments.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional GANs", ICLR 2016: G = dense to 4x4, transposed 4x4 stride-2
convolutions with batch norm and ReLU, tanh output; D = 4x4 stride-2
convolutions with LeakyReLU(0.2). The discriminator here has no batch norm
(optionally spectral norm instead) so that every example's logit depends on
that example only, which the gradient penalty and the rotation loss assume.
"""

import keras

from keras_ssl.architectures.resnet_gan import _dense, check_image_size
from keras_ssl.utils.validation import check_int

DCGAN_IMAGE_SIZES = (16, 32, 64, 128)


def dcgan_generator(
    image_size=32,
    z_dim=128,
    base_channels=64,
    channels=3,
    momentum=0.9,
    name="generator",
):
    """DCGAN generator `z (B, z_dim) -> images (B, S, S, C)` in [-1, 1].

    Widths halve at each up-sampling from `base_channels * 2^(n-2)` at 4x4
    (n = log2(S / 4) up-samplings) down to `base_channels`.

    Example:

    >>> g = dcgan_generator(32, z_dim=16, base_channels=8)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 32, 32, 3)
    """
    image_size = check_image_size(image_size, DCGAN_IMAGE_SIZES, "DCGAN generator")
    z_dim = check_int(z_dim, "z_dim")
    base_channels = check_int(base_channels, "base_channels")
    channels = check_int(channels, "channels")
    upsamplings = {16: 2, 32: 3, 64: 4, 128: 5}[image_size]
    width = base_channels * 2 ** (upsamplings - 2)
    z = keras.Input((z_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * width, use_bias=False, name="seed")(z)
    x = keras.layers.BatchNormalization(momentum=momentum, name="seed_bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((4, 4, width))(x)
    for i in range(upsamplings - 1):
        width //= 2
        x = keras.layers.Conv2DTranspose(
            max(width, 1),
            4,
            strides=2,
            padding="same",
            use_bias=False,
            name=f"up_{i + 1}",
        )(x)
        x = keras.layers.BatchNormalization(momentum=momentum, name=f"bn_{i + 1}")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", name="final_conv"
    )(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(z, images, name=name)


def dcgan_discriminator(
    image_size=32,
    base_channels=64,
    channels=3,
    spectral_norm=False,
    rotation_head=False,
    name="discriminator",
):
    """DCGAN discriminator `images -> {"logits", "features"[, "rotation_logits"]}`.

    Stride-2 4x4 convolutions doubling the width from `base_channels` down to
    4x4, LeakyReLU(0.2), flatten to "features", dense(1) to "logits"; a
    4-way dense "rotation_logits" head when `rotation_head`.

    Example:

    >>> d = dcgan_discriminator(32, base_channels=8)
    >>> tuple(d(keras.ops.zeros((2, 32, 32, 3)))["logits"].shape)
    (2, 1)
    """
    from keras_ssl.layers.spectral_normalization import SpectralNormalization

    image_size = check_image_size(image_size, DCGAN_IMAGE_SIZES, "DCGAN discriminator")
    base_channels = check_int(base_channels, "base_channels")
    channels = check_int(channels, "channels")
    downsamplings = {16: 2, 32: 3, 64: 4, 128: 5}[image_size]
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    width = base_channels
    for i in range(downsamplings):
        conv = keras.layers.Conv2D(
            width, 4, strides=2, padding="same", name=f"down_{i + 1}"
        )
        if spectral_norm:
            conv = SpectralNormalization(conv, name=f"sn_down_{i + 1}")
        x = keras.layers.LeakyReLU(0.2)(conv(x))
        width *= 2
    features = keras.layers.Flatten(name="features")(x)
    outputs = {
        "features": features,
        "logits": _dense(1, spectral_norm, "logits")(features),
    }
    if rotation_head:
        outputs["rotation_logits"] = _dense(4, spectral_norm, "rotation_logits")(
            features
        )
    return keras.Model(images, outputs, name=name)
