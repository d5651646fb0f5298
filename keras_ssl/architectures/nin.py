"""Network-in-Network encoder, the CIFAR backbone of RotNet."""

import keras
from keras import layers

_KERNELS = (5, 5, 3)
# PyTorch's BatchNorm2d default, which the authors' NIN uses (Keras: 1e-3).
BN_EPSILON = 1e-5


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
    x = layers.BatchNormalization(
        momentum=momentum, epsilon=BN_EPSILON, name=f"{name}_bn"
    )(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def nin_encoder(
    input_shape=(32, 32, 3),
    num_blocks=4,
    width=192,
    pooled=False,
    bn_momentum=0.9,
    input_mean=None,
    input_std=None,
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
    classifier after global pooling is what a method adds on top), layer for
    layer as the authors' `architectures/NetworkInNetwork.py`
    (gidariss/FeatureLearningRotNet): convolutions without bias, batch norm
    with epsilon 1e-5, ReLU; the poolings pad one pixel on every side as
    PyTorch's `padding=1` (the average counts the zero padding), where Keras'
    `padding="same"` would pad only the bottom and right of even-sized maps.
    `keras_ssl.convert` reads the authors' checkpoints into it.

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
        input_mean: None, or the per-channel mean (in [0, 1] units) of an
            input normalisation: with `input_std`, a first layer
            `"input_normalization"` maps images in [-1, 1] to
            `((images + 1) / 2 - input_mean) / input_std`, the input of
            networks trained on normalised images (the authors' CIFAR RotNet:
            mean [125.3, 123.0, 113.9] / 255, std [63.0, 62.1, 66.7] / 255).
        input_std: the per-channel standard deviation, with `input_mean`.
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
    if (input_mean is None) != (input_std is None):
        raise ValueError(
            "input_mean and input_std go together. Received: "
            f"input_mean={input_mean}, input_std={input_std}"
        )
    if input_mean is not None:
        mean = [float(v) for v in input_mean]
        std = [float(v) for v in input_std]
        if len(mean) != input_shape[-1] or len(std) != len(mean) or min(std) <= 0:
            raise ValueError(
                "input_mean and input_std need one value per channel "
                f"({input_shape[-1]}), std > 0. Received: input_mean={input_mean}, "
                f"input_std={input_std}"
            )
        x = layers.Rescaling(
            scale=[0.5 / v for v in std],
            offset=[(0.5 - m) / v for m, v in zip(mean, std)],
            name="input_normalization",
        )(x)
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
            # nn.MaxPool2d(3, 2, padding=1): one pixel on every side. Zeros
            # equal PyTorch's -inf padding here, since inputs are ReLU outputs.
            x = layers.ZeroPadding2D(1, name=f"{prefix}_pad")(x)
            x = layers.MaxPooling2D(3, strides=2, name=prefix)(x)
        elif index == 2:
            x = _conv_bn_relu(x, channels[2], 1, f"{prefix}_3", bn_momentum)
            # nn.AvgPool2d(3, 2, padding=1), count_include_pad=True: the
            # zero padding counts in every 3x3 mean.
            x = layers.ZeroPadding2D(1, name=f"{prefix}_pad")(x)
            x = layers.AveragePooling2D(3, strides=2, name=prefix)(x)
        else:
            x = layers.Conv2D(channels[2], 1, use_bias=False, name=f"{prefix}_3_conv")(
                x
            )
            x = layers.BatchNormalization(
                momentum=bn_momentum, epsilon=BN_EPSILON, name=f"{prefix}_3_bn"
            )(x)
            x = layers.ReLU(name=prefix)(x)
    if pooled:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name)
