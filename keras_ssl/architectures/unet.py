"""The pix2pix U-Net generator, equal to the authors' `UnetGenerator`.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017; layer for layer the `UnetGenerator` of
junyanz/pytorch-CycleGAN-and-pix2pix `models/networks.py`.

Encoder C64 (no norm) - C128 - C256 - C512 x (num_downs - 4), each a 4x4
stride-2 convolution (LeakyReLU 0.2 before every one but the first, norm
after every one but the first and the innermost); decoder mirrored with
4x4 stride-2 transposed convolutions after ReLU, each followed by norm
(not the outermost, which ends in tanh and is the only one with a bias
under batch norm), skip connections concatenating
every encoder input to the decoder output of the same resolution, and
Dropout(0.5) on the three ngf*8 decoder blocks just below the innermost.
With `num_downs = log2(image_size)` (8 at 256, "unet_256") the innermost
feature map is 1x1, which is why it has no normalisation.

Shared by the image-to-image networks here: `norm` is `"batch"` (PyTorch's
BatchNorm2d: momentum 0.1 = Keras 0.9, epsilon 1e-5) or `"instance"`
(InstanceNorm2d without affine parameters or running statistics, as
upstream's `get_norm_layer("instance")`). As upstream, convolutions before
a batch norm have no bias; with instance norm they have one.
"""

import keras

from keras_ssl.utils.validation import check_choice, check_int, check_number

NORMS = ("batch", "instance")
LEAKY_SLOPE = 0.2
# PyTorch's BatchNorm2d / InstanceNorm2d defaults.
NORM_EPSILON = 1e-5
BN_MOMENTUM = 0.9


def norm_layer(norm, name):
    """A `"batch"` or `"instance"` normalisation layer as upstream builds it."""
    if norm == "batch":
        return keras.layers.BatchNormalization(
            momentum=BN_MOMENTUM, epsilon=NORM_EPSILON, name=name
        )
    # Instance norm = group norm with one channel per group; upstream's has
    # no affine parameters (affine=False) and no running statistics.
    return keras.layers.GroupNormalization(
        groups=-1, epsilon=NORM_EPSILON, center=False, scale=False, name=name
    )


def leaky_relu(name=None):
    # Keras' default slope is 0.3; the papers use 0.2.
    return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)


def unet_sizes(num_downs, limit=1024):
    """The image sizes a U-Net with `num_downs` down-samplings accepts."""
    step = 2**num_downs
    return list(range(step, limit + 1, step))


def default_num_downs(image_size):
    """log2(image_size) (a 1x1 bottleneck) for powers of two >= 32."""
    if image_size >= 32 and image_size & (image_size - 1) == 0:
        return image_size.bit_length() - 1
    raise ValueError(
        "unet_generator picks num_downs = log2(image_size) for powers of two "
        "from 32 up (32, 64, 128, 256, 512, ...: num_downs 5, 6, 7, 8, 9); for "
        "other sizes pass num_downs >= 5 with image_size a multiple of "
        f"2**num_downs (e.g. num_downs=5: 32, 64, 96, 128, ...). Received: "
        f"image_size={image_size}"
    )


def unet_generator(
    image_size=256,
    input_channels=3,
    output_channels=3,
    width=64,
    num_downs=None,
    norm="batch",
    dropout=0.5,
    name="generator",
):
    """pix2pix U-Net `images (B, S, S, input_channels) -> (B, S, S, out)`.

    Args:
        image_size: S; with `num_downs=None` a power of two >= 32 (256 is
            the paper's "unet_256", 128 "unet_128").
        input_channels, output_channels: channels of the input and output
            images (the paper: 3 and 3).
        width: ngf, the channels of the first layer (paper: 64).
        num_downs: number of stride-2 down-samplings (>= 5); S must be a
            multiple of `2**num_downs`. Default `log2(S)`.
        norm: `"batch"` (pix2pix) or `"instance"`.
        dropout: rate of the decoder dropout (paper 0.5; 0 removes it).
            Applies to the ngf*8 blocks just below the innermost, i.e. the
            first `num_downs - 5` decoder blocks after the bottleneck (3 at
            256); at 32x32 with `num_downs=5` there are none.
        name: model name.

    Returns:
        A functional `keras.Model` with tanh outputs in [-1, 1]. At 256 with
        width 64 it has 54,413,955 parameters, as upstream's.

    Example:

    >>> g = unet_generator(32, width=4)
    >>> tuple(g(keras.ops.zeros((2, 32, 32, 3))).shape)
    (2, 32, 32, 3)
    """
    image_size = check_int(image_size, "image_size")
    input_channels = check_int(input_channels, "input_channels")
    output_channels = check_int(output_channels, "output_channels")
    width = check_int(width, "width")
    norm = check_choice(norm, "norm", NORMS)
    dropout = check_number(dropout, "dropout", minimum=0, maximum=1)
    if dropout >= 1:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    if num_downs is None:
        num_downs = default_num_downs(image_size)
    num_downs = check_int(num_downs, "num_downs", minimum=5)
    if image_size % 2**num_downs:
        raise ValueError(
            f"unet_generator with num_downs={num_downs} needs image_size a "
            f"multiple of {2**num_downs}: {unet_sizes(num_downs)[:6]} ... "
            f"Received: image_size={image_size}"
        )
    use_bias = norm == "instance"
    # Channels of each down-sampling's output, outermost (depth 0) first.
    inner = [width, width * 2, width * 4] + [width * 8] * (num_downs - 3)
    # Channels each block's up-convolution returns (its "outer_nc").
    outer = [output_channels] + inner[:-1]
    # Blocks with dropout: the num_downs - 5 ngf*8 blocks above the innermost.
    dropout_depths = set(range(4, num_downs - 1))

    images = keras.Input((image_size, image_size, input_channels), name="images")
    skips = []
    x = images
    for depth in range(num_downs):
        if depth > 0:
            x = leaky_relu(name=f"down{depth}_lrelu")(x)
        x = keras.layers.Conv2D(
            inner[depth],
            4,
            strides=2,
            padding="same",
            use_bias=use_bias,
            name=f"down{depth}_conv",
        )(x)
        if 0 < depth < num_downs - 1:
            x = norm_layer(norm, name=f"down{depth}_norm")(x)
        skips.append(x)
    for depth in reversed(range(num_downs)):
        x = keras.layers.ReLU(name=f"up{depth}_relu")(x)
        x = keras.layers.Conv2DTranspose(
            outer[depth],
            4,
            strides=2,
            padding="same",
            use_bias=use_bias or depth == 0,
            name=f"up{depth}_conv",
        )(x)
        if depth == 0:
            x = keras.layers.Activation("tanh", name="images_out")(x)
            break
        x = norm_layer(norm, name=f"up{depth}_norm")(x)
        if depth in dropout_depths and dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"up{depth}_dropout")(x)
        # Upstream returns cat([x, block(x)]): the block's input first.
        x = keras.layers.Concatenate(name=f"up{depth}_skip")([skips[depth - 1], x])
    return keras.Model(images, x, name=name)
