"""AlexNet-style encoder scaled to small images."""

import keras
from keras import layers

from keras_ssl.architectures.nin import _check_input_shape

# conv1..conv5 of Krizhevsky et al. 2012: (channels, kernel, max-pool after).
_LAYERS = (
    (96, 5, True),
    (256, 5, True),
    (384, 3, False),
    (384, 3, False),
    (256, 3, True),
)


def alexnet_encoder(
    input_shape=(32, 32, 3),
    width_multiplier=1.0,
    stem_stride=None,
    pooled=False,
    bn_momentum=0.9,
    name="alexnet_encoder",
):
    """An AlexNet-style encoder (conv1..conv5) for small images.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with
    Deep Convolutional Neural Networks", NeurIPS 2012, the trunk used by most
    pretext-task papers (Doersch 2015, Noroozi & Favaro 2016, Zhang 2016).

    Scaled to small images as is common for CIFAR/STL experiments: conv1 is
    5x5 with stride 1 (instead of 11x11 stride 4) for inputs up to 64 pixels
    and stride 2 above; max pooling is 3x3/2 with "same" padding after conv1,
    conv2 and conv5; every convolution is followed by batch normalization and
    ReLU (the 2012 network had local response normalization instead). The
    channels (96, 256, 384, 384, 256) are multiplied by `width_multiplier`.

    The output of each convolution stage is the layer named `"conv1"` ..
    `"conv5"` (after ReLU and, where present, pooling). For a 32x32 input the
    feature maps are 16, 8, 8, 8 and 4 pixels wide.

    Args:
        input_shape: `(height, width, channels)` of images in [-1, 1];
            height and width may be None for a network that takes any size.
        width_multiplier: scales every layer's channels (at least 1 channel).
        stem_stride: stride of conv1; `None` picks 1 for inputs up to 64
            pixels and 2 above.
        pooled: if True, global average pooling (layer `"pool"`) turns the
            conv5 map into a vector.
        bn_momentum: momentum of the batch-norm moving statistics (0.9,
            PyTorch's default, as in the reference implementations).
        name: model name.

    Returns:
        A `keras.Model` from images (B, H, W, C) to the conv5 feature map, or
        its global average (B, channels) if `pooled`.

    Example:

    >>> encoder = alexnet_encoder((32, 32, 3), width_multiplier=0.125)
    >>> tuple(encoder.output.shape)
    (None, 4, 4, 32)
    """
    _check_input_shape(input_shape, "alexnet_encoder")
    if not width_multiplier > 0:
        raise ValueError(
            "width_multiplier must be positive. "
            f"Received: width_multiplier={width_multiplier}"
        )
    if stem_stride is None:
        size = (
            max(s for s in tuple(input_shape)[:2] if s is not None)
            if any(s is not None for s in tuple(input_shape)[:2])
            else 32
        )
        stem_stride = 1 if size <= 64 else 2
    if stem_stride not in (1, 2, 4):
        raise ValueError(
            f"stem_stride must be 1, 2 or 4. Received: stem_stride={stem_stride}"
        )
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = inputs
    for index, (channels, kernel, pool) in enumerate(_LAYERS, start=1):
        filters = max(1, int(round(channels * width_multiplier)))
        stride = stem_stride if index == 1 else 1
        x = layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same",
            use_bias=False,
            name=f"conv{index}_conv",
        )(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"conv{index}_bn")(x)
        x = layers.ReLU(name=f"conv{index}" if not pool else f"conv{index}_relu")(x)
        if pool:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"conv{index}")(
                x
            )
    if pooled:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name)
