"""The PatchGAN discriminator of pix2pix and CycleGAN.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 (Sec. 3.2.2, the "70x70 PatchGAN"); layer
for layer the `NLayerDiscriminator` of junyanz/pytorch-CycleGAN-and-pix2pix
`models/networks.py`:

    C64 (no norm) - [C128 - C256 ...] stride 2 - C(min(2^n, 8) * 64) stride 1
    - 1-channel conv,

all 4x4 with padding 1, LeakyReLU(0.2) after every layer but the last and
norm after every layer but the first and the last. The output is a map of
logits, one per overlapping image patch (no sigmoid: the losses take
logits). The patch each logit sees (receptive field) by `num_layers`:

    num_layers    1    2    3    4    5
    field (px)   16   34   70  142  286

so the default `num_layers=3` is the 70x70 PatchGAN, and its map is 30x30
for 256x256 inputs (S / 2^n - 2 per side).
"""

import keras

from keras_ssl.architectures.unet import leaky_relu, norm_layer
from keras_ssl.utils.validation import check_choice, check_int

RECEPTIVE_FIELDS = {1: 16, 2: 34, 3: 70, 4: 142, 5: 286}


def receptive_field(num_layers):
    """Side of the image patch one output logit sees.

    Example:

    >>> [receptive_field(n) for n in (1, 2, 3, 4, 5)]
    [16, 34, 70, 142, 286]
    """
    num_layers = check_int(num_layers, "num_layers")
    field = 1
    # The last two 4x4 stride-1 convolutions, then num_layers stride-2 ones.
    for stride in [1, 1] + [2] * num_layers:
        field = (field - 1) * stride + 4
    return field


def patch_sizes(num_layers, limit=1024):
    """Image sizes a PatchGAN of `num_layers` accepts (up to `limit`)."""
    step = 2**num_layers
    return list(range(3 * step, limit + 1, step))


def patch_discriminator(
    image_size=256,
    channels=6,
    width=64,
    num_layers=3,
    norm="batch",
    name="discriminator",
):
    """PatchGAN `images (B, S, S, channels) -> logits (B, S/2^n - 2, ..., 1)`.

    Args:
        image_size: S, a multiple of `2**num_layers`, at least
            `3 * 2**num_layers` (e.g. 24, 32, 40, ... for 3 layers).
        channels: input channels: 6 for pix2pix (input and output images
            concatenated), 3 for CycleGAN.
        width: ndf, the channels of the first layer (paper: 64).
        num_layers: stride-2 layers (3: the 70x70 PatchGAN; see the module
            docstring for the receptive field of each depth).
        norm: `"batch"` (pix2pix) or `"instance"` (CycleGAN).
        name: model name.

    Returns:
        A functional `keras.Model`. With 6 channels, width 64 and 3 layers it
        has 2,768,705 parameters, as upstream's.

    Example:

    >>> d = patch_discriminator(256, channels=6, width=4)
    >>> tuple(d(keras.ops.zeros((1, 256, 256, 6))).shape)
    (1, 30, 30, 1)
    """
    image_size = check_int(image_size, "image_size")
    channels = check_int(channels, "channels")
    width = check_int(width, "width")
    num_layers = check_int(num_layers, "num_layers")
    norm = check_choice(norm, "norm", ("batch", "instance"))
    step = 2**num_layers
    if image_size % step or image_size < 3 * step:
        raise ValueError(
            f"patch_discriminator with num_layers={num_layers} needs image_size "
            f"a multiple of {step} and at least {3 * step}: "
            f"{patch_sizes(num_layers)[:6]} ... Received: image_size={image_size}"
        )
    use_bias = norm == "instance"
    images = keras.Input((image_size, image_size, channels), name="images")
    x = keras.layers.ZeroPadding2D(1, name="conv0_pad")(images)
    x = keras.layers.Conv2D(width, 4, strides=2, name="conv0")(x)
    x = leaky_relu(name="conv0_lrelu")(x)
    for layer in range(1, num_layers + 1):
        stride = 2 if layer < num_layers else 1
        x = keras.layers.ZeroPadding2D(1, name=f"conv{layer}_pad")(x)
        x = keras.layers.Conv2D(
            width * min(2**layer, 8),
            4,
            strides=stride,
            use_bias=use_bias,
            name=f"conv{layer}",
        )(x)
        x = norm_layer(norm, name=f"conv{layer}_norm")(x)
        x = leaky_relu(name=f"conv{layer}_lrelu")(x)
    x = keras.layers.ZeroPadding2D(1, name="logits_pad")(x)
    logits = keras.layers.Conv2D(1, 4, name="logits")(x)
    return keras.Model(images, logits, name=name)
