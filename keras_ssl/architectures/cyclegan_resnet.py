"""The CycleGAN ResNet generator, equal to the authors' `ResnetGenerator`.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (after Johnson et al.,
"Perceptual Losses for Real-Time Style Transfer", ECCV 2016); layer for
layer the `ResnetGenerator` of junyanz/pytorch-CycleGAN-and-pix2pix
`models/networks.py`:

    c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-3 (tanh)

c7s1-k: reflection pad 3, 7x7 conv, norm, ReLU; dk: 3x3 stride-2 conv (zero
padding 1), norm, ReLU; Rk: [reflection pad 1, 3x3 conv, norm, ReLU,
(dropout 0.5,) reflection pad 1, 3x3 conv, norm] plus the identity; uk: 3x3
stride-2 transposed conv (PyTorch padding 1, output padding 1), norm, ReLU.
6 blocks for 128x128 images, 9 for 256x256 in the paper. Instance norm
(no affine parameters, no running statistics) by default; every
convolution has a bias, as upstream's when the norm is instance norm.
"""

import keras

from keras_ssl.architectures.unet import norm_layer
from keras_ssl.layers.reflection_padding_2d import ReflectionPadding2D
from keras_ssl.utils.validation import check_choice, check_int, check_number


def resnet_sizes(limit=1024):
    """Image sizes the ResNet generator accepts: multiples of 4 from 8."""
    return list(range(8, limit + 1, 4))


def cyclegan_resnet_generator(
    image_size=256,
    input_channels=3,
    output_channels=3,
    width=64,
    num_blocks=9,
    norm="instance",
    dropout=0.0,
    name="generator",
):
    """CycleGAN ResNet generator `(B, S, S, in) -> (B, S, S, out)` in [-1, 1].

    Args:
        image_size: S, a multiple of 4 and at least 8 (two stride-2
            down-samplings, then reflection padding of 1 at S / 4).
        input_channels, output_channels: image channels (paper: 3, 3).
        width: ngf (paper: 64).
        num_blocks: residual blocks (paper: 6 at 128, 9 at 256).
        norm: `"instance"` (CycleGAN) or `"batch"`.
        dropout: dropout rate inside each block (CycleGAN trains without:
            0; upstream's `use_dropout` is 0.5).
        name: model name.

    Returns:
        A functional `keras.Model`; with 9 blocks and width 64 it has
        11,378,179 parameters, as upstream's.

    Example:

    >>> g = cyclegan_resnet_generator(32, width=4, num_blocks=2)
    >>> tuple(g(keras.ops.zeros((1, 32, 32, 3))).shape)
    (1, 32, 32, 3)
    """
    image_size = check_int(image_size, "image_size")
    input_channels = check_int(input_channels, "input_channels")
    output_channels = check_int(output_channels, "output_channels")
    width = check_int(width, "width")
    num_blocks = check_int(num_blocks, "num_blocks", minimum=0)
    norm = check_choice(norm, "norm", ("instance", "batch"))
    dropout = check_number(dropout, "dropout", minimum=0, maximum=1)
    if dropout >= 1:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    if image_size % 4 or image_size < 8:
        raise ValueError(
            "cyclegan_resnet_generator needs image_size a multiple of 4 and at "
            f"least 8: {resnet_sizes()[:6]} ... (the paper: 128, 256). "
            f"Received: image_size={image_size}"
        )
    use_bias = norm == "instance"

    def conv(x, filters, kernel, prefix, stride=1, reflect=0, zero=0):
        if reflect:
            x = ReflectionPadding2D(reflect, name=f"{prefix}_pad")(x)
        if zero:
            x = keras.layers.ZeroPadding2D(zero, name=f"{prefix}_pad")(x)
        return keras.layers.Conv2D(
            filters, kernel, strides=stride, use_bias=use_bias, name=prefix
        )(x)

    images = keras.Input((image_size, image_size, input_channels), name="images")
    x = conv(images, width, 7, "stem_conv", reflect=3)
    x = norm_layer(norm, "stem_norm")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for i in (1, 2):
        x = conv(x, width * 2**i, 3, f"down{i}_conv", stride=2, zero=1)
        x = norm_layer(norm, f"down{i}_norm")(x)
        x = keras.layers.ReLU(name=f"down{i}_relu")(x)
    channels = width * 4
    for block in range(num_blocks):
        prefix = f"block{block}"
        y = conv(x, channels, 3, f"{prefix}_conv1", reflect=1)
        y = norm_layer(norm, f"{prefix}_norm1")(y)
        y = keras.layers.ReLU(name=f"{prefix}_relu")(y)
        if dropout > 0:
            y = keras.layers.Dropout(dropout, name=f"{prefix}_dropout")(y)
        y = conv(y, channels, 3, f"{prefix}_conv2", reflect=1)
        y = norm_layer(norm, f"{prefix}_norm2")(y)
        x = keras.layers.Add(name=f"{prefix}_add")([x, y])
    for i in (1, 2):
        # PyTorch's ConvTranspose2d(k3, s2, padding 1, output_padding 1) is
        # the full (2n + 1) output without its first row and column.
        x = keras.layers.Conv2DTranspose(
            width * 2 ** (2 - i),
            3,
            strides=2,
            padding="valid",
            use_bias=use_bias,
            name=f"up{i}_conv",
        )(x)
        x = keras.layers.Cropping2D(((1, 0), (1, 0)), name=f"up{i}_crop")(x)
        x = norm_layer(norm, f"up{i}_norm")(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(x)
    x = ReflectionPadding2D(3, name="out_conv_pad")(x)
    x = keras.layers.Conv2D(output_channels, 7, name="out_conv")(x)
    images_out = keras.layers.Activation("tanh", name="images_out")(x)
    return keras.Model(images, images_out, name=name)
