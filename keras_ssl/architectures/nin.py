"""Network-in-Network encoder, the CIFAR backbone of RotNet."""

import keras
from keras import layers

_KERNELS = (5, 5, 3)


def _check_input_shape(input_shape, function):
    if len(tuple(input_shape)) != 3:
        raise ValueError(
            f"{function} expects input_shape=(height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    for size in tuple(input_shape)[:2]:
        if size is not None and size < 4:
            raise ValueError(
                f"{function} needs images of at least 4x4 pixels. "
                f"Received: input_shape={input_shape}"
            )


def _conv_bn_relu(x, filters, kernel_size, name, momentum):
    x = layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def nin_encoder(
    input_shape=(32, 32, 3),
    num_blocks=4,
    width=192,
    pooled=False,
    bn_momentum=0.9,
    name="nin_encoder",
):
    """The Network-in-Network encoder that RotNet trains on CIFAR-10.

    Reference: Gidaris, Singh & Komodakis, "Unsupervised Representation
    Learning by Predicting Image Rotations", ICLR 2018 (its NIN variant of Lin
    et al. 2014).

    Each block is three conv-BN-ReLU layers: a k x k convolution followed by
    two 1x1 convolutions. Block 1 uses 5x5 kernels, channels
    (width, 5/6 width, 1/2 width) and ends with a 3x3/2 max pooling; block 2
    uses 5x5 kernels, `width` channels and ends with a 3x3/2 average pooling;
    blocks 3 and later use 3x3 kernels and `width` channels at the same
    resolution. With `width=192` this is the paper's network (the paper's
    classifier after global pooling is what a method adds on top).

    The output of block i is the layer named `"block{i}"`, so linear probes
    pick any block with `model.get_layer("block2").output`. For a 32x32 input
    the feature maps are 16x16 (block 1) and 8x8 (blocks 2 and later).

    Args:
        input_shape: `(height, width, channels)` of images in [-1, 1];
            height and width may be None for a network that takes any size.
        num_blocks: number of blocks, 3 to 5 (4 in the paper's best model).
        width: channels of the wide layers (192 in the paper); use 32-64 for
            quick CPU runs.
        pooled: if True, global average pooling (layer `"pool"`) turns the
            last feature map into a vector of `width` features.
        bn_momentum: momentum of the batch-norm moving statistics. 0.9 is
            PyTorch's default, which the reference code used (Keras' default
            0.99 needs ten times more steps before inference is reliable).
        name: model name.

    Returns:
        A `keras.Model` from images (B, H, W, C) to the feature map
        (B, H/4, W/4, width) of the last block, or (B, width) if `pooled`.

    Example:

    >>> encoder = nin_encoder((32, 32, 3), num_blocks=3, width=16)
    >>> tuple(encoder.output.shape)
    (None, 8, 8, 16)
    >>> tuple(encoder.get_layer("block1").output.shape)
    (None, 16, 16, 8)
    """
    _check_input_shape(input_shape, "nin_encoder")
    if not isinstance(num_blocks, int) or not 3 <= num_blocks <= 5:
        raise ValueError(
            f"num_blocks must be an int from 3 to 5. Received: num_blocks={num_blocks}"
        )
    if not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be an int >= 2. Received: width={width}")
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = inputs
    for index in range(1, num_blocks + 1):
        kernel = _KERNELS[min(index, 3) - 1]
        if index == 1:
            channels = (width, max(1, width * 5 // 6), max(1, width // 2))
        else:
            channels = (width, width, width)
        prefix = f"block{index}"
        x = _conv_bn_relu(x, channels[0], kernel, f"{prefix}_1", bn_momentum)
        x = _conv_bn_relu(x, channels[1], 1, f"{prefix}_2", bn_momentum)
        if index == 1:
            x = _conv_bn_relu(x, channels[2], 1, f"{prefix}_3", bn_momentum)
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=prefix)(x)
        elif index == 2:
            x = _conv_bn_relu(x, channels[2], 1, f"{prefix}_3", bn_momentum)
            x = layers.AveragePooling2D(3, strides=2, padding="same", name=prefix)(x)
        else:
            x = layers.Conv2D(channels[2], 1, use_bias=False, name=f"{prefix}_3_conv")(
                x
            )
            x = layers.BatchNormalization(momentum=bn_momentum, name=f"{prefix}_3_bn")(
                x
            )
            x = layers.ReLU(name=prefix)(x)
    if pooled:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name)
