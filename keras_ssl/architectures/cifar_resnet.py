"""CIFAR-style ResNet-18/34/50 with a 3x3 stem."""

import keras
from keras import layers

from keras_ssl.architectures.nin import _check_input_shape

# depth -> (block type, blocks per stage)
_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}


# PyTorch's default momentum, used by the reference CIFAR implementations;
# Keras' 0.99 needs ten times more steps before inference is reliable.
_BN_MOMENTUM = 0.9


def _bn_relu(x, name, relu=True):
    x = layers.BatchNormalization(momentum=_BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _basic_block(x, filters, stride, name):
    shortcut = x
    y = layers.Conv2D(
        filters,
        3,
        strides=stride,
        padding="same",
        use_bias=False,
        name=f"{name}_1_conv",
    )(x)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(
        filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv"
    )(y)
    y = _bn_relu(y, f"{name}_2", relu=False)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _bn_relu(shortcut, f"{name}_0", relu=False)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def _bottleneck_block(x, filters, stride, name):
    shortcut = x
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(
        filters,
        3,
        strides=stride,
        padding="same",
        use_bias=False,
        name=f"{name}_2_conv",
    )(y)
    y = _bn_relu(y, f"{name}_2")
    y = layers.Conv2D(4 * filters, 1, use_bias=False, name=f"{name}_3_conv")(y)
    y = _bn_relu(y, f"{name}_3", relu=False)
    if stride != 1 or x.shape[-1] != 4 * filters:
        shortcut = layers.Conv2D(
            4 * filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _bn_relu(shortcut, f"{name}_0", relu=False)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def cifar_resnet(
    depth=18,
    input_shape=(32, 32, 3),
    width=64,
    pooled=False,
    name=None,
):
    """A ResNet for small images: 3x3 stride-1 stem, no max pooling.

    Reference: He, Zhang, Ren & Sun, "Deep Residual Learning for Image
    Recognition", CVPR 2016, in the CIFAR form used by self-supervised
    benchmarks (NPID, SimCLR, solo-learn): the 7x7/2 stem and max pooling are
    replaced by one 3x3 stride-1 convolution so that 32x32 images keep their
    resolution in the first stage.

    Four stages of `width`, 2, 4 and 8 x `width` channels (x4 at the output
    of bottleneck blocks) with strides 1, 2, 2, 2. The stem output is the
    layer `"stem"`, each stage's output the layer `"stage1"` .. `"stage4"`.
    For a 32x32 input the maps are 32, 16, 8 and 4 pixels wide.

    Args:
        depth: 18 or 34 (basic blocks) or 50 (bottleneck blocks).
        input_shape: `(height, width, channels)` of images in [-1, 1];
            height and width may be None for a network that takes any size.
        width: channels of the stem and first stage (64 in the paper).
        pooled: if True, global average pooling (layer `"pool"`) turns the
            stage-4 map into a vector (512 x width/64 features for ResNet-18,
            2048 x width/64 for ResNet-50).
        name: model name; defaults to `"cifar_resnet{depth}"`.

    Returns:
        A `keras.Model` from images (B, H, W, C) to the stage-4 feature map
        (B, H/8, W/8, 8 width) (32 width for ResNet-50), or its global average
        if `pooled`.

    Example:

    >>> encoder = cifar_resnet(18, (32, 32, 3), width=8, pooled=True)
    >>> tuple(encoder.output.shape)
    (None, 64)
    """
    if depth not in _DEPTHS:
        raise ValueError(
            f"depth must be one of {tuple(_DEPTHS)}. Received: depth={depth}"
        )
    _check_input_shape(input_shape, "cifar_resnet")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int. Received: width={width}")
    kind, stages = _DEPTHS[depth]
    block = _basic_block if kind == "basic" else _bottleneck_block
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = layers.BatchNormalization(momentum=_BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(name="stem")(x)
    for stage, num_blocks in enumerate(stages, start=1):
        filters = width * 2 ** (stage - 1)
        for index in range(num_blocks):
            stride = 2 if stage > 1 and index == 0 else 1
            x = block(x, filters, stride, f"stage{stage}_block{index + 1}")
        x = layers.Identity(name=f"stage{stage}")(x)
    if pooled:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, x, name=name or f"cifar_resnet{depth}")
