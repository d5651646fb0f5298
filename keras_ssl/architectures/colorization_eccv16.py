"""Zhang et al.'s released ECCV 2016 colorization network.

Reference: Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016;
the network of their PyTorch release (`colorizers/eccv16.py`,
`ECCVGenerator`), layer for layer, so that their `colorization_release_v2`
weights load by name (`keras_ssl.convert.colorization`).

L in [0, 100] is normalised as (L - 50) / 100, then eight blocks of 3x3
convolutions, ReLU after each and BatchNorm at the end of blocks 1-7 (after
the ReLU, as released):

    block  convs  channels  stride of last  dilation  resolution
    1      2      64        2               1         1/2
    2      2      128       2               1         1/4
    3      3      256       2               1         1/8
    4      3      512       1               1         1/8
    5, 6   3      512       1               2         1/8
    7      3      512       1               1         1/8
    8      4x4 transposed conv stride 2 to 256, two 3x3 convs of 256, then a
           1x1 conv to 313 bin logits                  1/4

then a softmax over the bins, a 1x1 conv without bias from the 313
probabilities to ab (its kernel holds the bin centres / 110), 4x bilinear
upsampling and a factor 110. Stride-2 convolutions pad 1 on each side and
the transposed convolution crops 1 on each side, as PyTorch's `padding=1`.
Layer names are the release's keys with `_` for `.` (`model3_4`, `model_out`).
BatchNorm uses eps 1e-5 and momentum 0.9 (PyTorch's 0.1) and updates its
moving variance with the unbiased batch variance, as PyTorch does.
"""

import keras
from keras import layers

from keras_ssl.layers.torch_batch_normalization import TorchBatchNormalization
from keras_ssl.utils.validation import check_int, check_number

# (channels of each conv, stride of the last conv, dilation) of blocks 1-7.
_BLOCKS = (
    ((64, 64), 2, 1),
    ((128, 128), 2, 1),
    ((256, 256, 256), 2, 1),
    ((512, 512, 512), 1, 1),
    ((512, 512, 512), 1, 2),
    ((512, 512, 512), 1, 2),
    ((512, 512, 512), 1, 1),
)
AB_SCALE = 110.0


def _scaled(channels, width):
    return max(1, int(round(channels * width)))


def _conv(x, filters, stride, dilation, name):
    if stride > 1:
        x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    return layers.Conv2D(
        filters,
        3,
        strides=stride,
        dilation_rate=dilation,
        padding=padding,
        name=name,
    )(x)


def colorization_eccv16(
    input_shape=(None, None, 1),
    width=1.0,
    num_bins=313,
    include_top=True,
    name="colorization_eccv16",
):
    """Zhang et al.'s ECCV 2016 colorization network, as released.

    Reference: Zhang, Isola & Efros, ECCV 2016 (`colorizers/eccv16.py`).

    Args:
        input_shape: `(H, W, 1)` of L images in [0, 100]; H and W multiples
            of 8 (or None).
        width: multiplier of every channel count but the 1 input, the
            `num_bins` logits and the 2 ab outputs (1 is the released
            network; 1/16 the reduced-width test fixture).
        num_bins: ab bins of the classifier (313 as released).
        include_top: True: outputs `[ab, logits]`, ab (B, H, W, 2) in Lab
            units (the expectation over the bins, 4x bilinear upsampled) and
            the bin logits (B, H/4, W/4, num_bins) (`conv8_313`). False: the
            features (B, H/4, W/4, 256 * width) before the logits.
        name: model name.

    Returns:
        A functional `keras.Model`; 32,236,011 trainable parameters at
        width 1 with the top.

    Example:

    >>> model = colorization_eccv16((32, 32, 1), width=1 / 16)
    >>> [tuple(o.shape) for o in model.outputs]
    [(None, 32, 32, 2), (None, 8, 8, 313)]
    """
    width = check_number(width, "width", minimum=0, exclusive_minimum=True)
    num_bins = check_int(num_bins, "num_bins", minimum=2)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 1:
        raise ValueError(
            "input_shape must be (H, W, 1): L images. "
            f"Received: input_shape={input_shape}"
        )
    for side in input_shape[:2]:
        if side is not None and side % 8:
            raise ValueError(
                "input_shape's H and W must be multiples of 8. "
                f"Received: input_shape={input_shape}"
            )
    inputs = keras.Input(input_shape, name="lightness")
    x = layers.Rescaling(0.01, offset=-0.5, name="normalize_l")(inputs)
    for block, (channels, last_stride, dilation) in enumerate(_BLOCKS, start=1):
        for index, filters in enumerate(channels):
            stride = last_stride if index == len(channels) - 1 else 1
            layer = f"model{block}_{2 * index}"
            x = _conv(x, _scaled(filters, width), stride, dilation, layer)
            x = layers.ReLU(name=f"model{block}_{2 * index + 1}")(x)
        # PyTorch BN: the moving variance follows the unbiased batch variance.
        x = TorchBatchNormalization(
            momentum=0.9, epsilon=1e-5, name=f"model{block}_{2 * len(channels)}"
        )(x)
    x = layers.Conv2DTranspose(
        _scaled(256, width), 4, strides=2, padding="valid", name="model8_0"
    )(x)
    x = layers.Cropping2D(1, name="model8_0_crop")(x)
    x = layers.ReLU(name="model8_1")(x)
    x = _conv(x, _scaled(256, width), 1, 1, "model8_2")
    x = layers.ReLU(name="model8_3")(x)
    x = _conv(x, _scaled(256, width), 1, 1, "model8_4")
    x = layers.ReLU(name="model8_5")(x)
    if not include_top:
        return keras.Model(inputs, x, name=name)
    logits = layers.Conv2D(num_bins, 1, name="model8_6")(x)
    probabilities = layers.Softmax(axis=-1, name="softmax")(logits)
    ab = layers.Conv2D(2, 1, use_bias=False, name="model_out")(probabilities)
    ab = layers.UpSampling2D(4, interpolation="bilinear", name="upsample4")(ab)
    ab = layers.Rescaling(AB_SCALE, name="unnormalize_ab")(ab)
    return keras.Model(inputs, [ab, logits], name=name)
