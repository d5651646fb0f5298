"""BiGAN encoder and joint (x, z) discriminator.

Reference: Donahue, Krahenbuhl & Darrell, "Adversarial Feature Learning",
ICLR 2017 (arXiv 2016). The generator is a DCGAN generator
(`keras_ssl.architectures.dcgan_generator`); the encoder mirrors the DCGAN
discriminator and maps images to latent codes; the discriminator sees image
and code together, with z projected into every layer of its image path (as
in the paper's D, where z enters each layer through a linear map).
"""

import keras

from keras_ssl.architectures.dcgan import DCGAN_IMAGE_SIZES
from keras_ssl.utils.validation import check_choice, check_int


def _downsamplings(image_size):
    return {16: 2, 32: 3, 64: 4, 128: 5}[image_size]


def bigan_encoder(
    image_size=32, z_dim=200, base_channels=64, channels=3, name="encoder"
):
    """BiGAN encoder E: images (B, S, S, C) in [-1, 1] -> codes (B, z_dim).

    4x4 stride-2 convolutions from `base_channels`, doubling, down to 4x4,
    batch norm after the first, LeakyReLU(0.2) (`act_1`, `act_2`, ...),
    flattened and mapped
    linearly to `z_dim` (unbounded, as the paper's encoder; the prior is
    U(-1, 1)^z_dim).

    Example:

    >>> e = bigan_encoder(32, z_dim=16, base_channels=8)
    >>> tuple(e(keras.ops.zeros((2, 32, 32, 3))).shape)
    (2, 16)
    """
    image_size = check_choice(image_size, "image_size", DCGAN_IMAGE_SIZES)
    z_dim = check_int(z_dim, "z_dim")
    base_channels = check_int(base_channels, "base_channels")
    channels = check_int(channels, "channels")
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i in range(_downsamplings(image_size)):
        x = keras.layers.Conv2D(
            base_channels * 2**i, 4, strides=2, padding="same", name=f"conv_{i + 1}"
        )(x)
        if i > 0:
            x = keras.layers.BatchNormalization(name=f"bn_{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"act_{i + 1}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    codes = keras.layers.Dense(z_dim, name="codes")(x)
    return keras.Model(images, codes, name=name)


def bigan_discriminator(
    image_size=32,
    z_dim=200,
    base_channels=64,
    channels=3,
    joint_units=512,
    dropout=0.2,
    name="discriminator",
):
    """Joint discriminator D: `[images, z] -> {"logits", "features"}`.

    Image path: 4x4 stride-2 convolutions (LeakyReLU 0.2, no batch norm so
    that every example's logit depends on that example only); before each
    nonlinearity a linear map of z is added to every position ("z projected
    into every layer"). The flattened image features and a dense embedding
    of z are concatenated, passed through a dense layer of `joint_units`
    and mapped to one logit, with `dropout` on the joint features to
    regularise D.

    Example:

    >>> d = bigan_discriminator(32, z_dim=16, base_channels=8)
    >>> out = d([keras.ops.zeros((2, 32, 32, 3)), keras.ops.zeros((2, 16))])
    >>> tuple(out["logits"].shape)
    (2, 1)
    """
    image_size = check_choice(image_size, "image_size", DCGAN_IMAGE_SIZES)
    z_dim = check_int(z_dim, "z_dim")
    base_channels = check_int(base_channels, "base_channels")
    channels = check_int(channels, "channels")
    joint_units = check_int(joint_units, "joint_units")
    images = keras.Input((image_size, image_size, channels), name="images")
    z = keras.Input((z_dim,), name="z")
    x = images
    for i in range(_downsamplings(image_size)):
        width = base_channels * 2**i
        x = keras.layers.Conv2D(
            width, 4, strides=2, padding="same", name=f"conv_{i + 1}"
        )(x)
        projected = keras.layers.Dense(width, use_bias=False, name=f"z_proj_{i + 1}")(z)
        projected = keras.layers.Reshape((1, 1, width))(projected)
        x = keras.layers.Add(name=f"add_z_{i + 1}")([x, projected])
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten(name="image_features")(x)
    z_features = keras.layers.Dense(joint_units, name="z_dense")(z)
    z_features = keras.layers.LeakyReLU(0.2)(z_features)
    joint = keras.layers.Concatenate(name="joint")([x, z_features])
    joint = keras.layers.Dense(joint_units, name="joint_dense")(joint)
    joint = keras.layers.LeakyReLU(0.2, name="features")(joint)
    dropped = keras.layers.Dropout(dropout)(joint)
    logits = keras.layers.Dense(1, name="logits")(dropped)
    return keras.Model([images, z], {"logits": logits, "features": joint}, name=name)
