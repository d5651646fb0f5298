"""Mimicry's SNGAN, SSGAN and cGAN-PD ResNets, layer for layer.

Lee & Town, "Mimicry: Towards the Reproducibility of GAN Research", CVPR
Workshops 2020 (kwotsin/mimicry, `torch_mimicry/nets/{sngan,ssgan,cgan_pd}`
and `modules/resblocks.py`), which follows SN-GAN's Chainer networks
(Miyato et al., ICLR 2018; Miyato & Koyama, ICLR 2018). Built so that
Mimicry's released checkpoints load by name (`keras_ssl.convert`, format
`"mimicry_pth"`) and give the original's outputs.

Generator `z (B, z_dim) [, labels (B,)] -> images (B, S, S, C)` in [-1, 1]:
dense `l1` to a (bottom, bottom, ngf) map, up-blocks `block2...`, then BN,
ReLU, 3x3 conv and tanh. An up-block is BN, ReLU, bilinear x2 upsampling
(PyTorch `align_corners=False`), 3x3 conv, BN, ReLU, 3x3 conv, plus a
shortcut of bilinear upsampling and a 1x1 conv. With `num_classes`, every
block BN is class-conditional (cGAN-PD); the last BN never is.

Discriminator `images [, labels] -> {"logits", "features"[, "rotation_logits"]}`:
an "optimized" first block (conv, ReLU, conv, 2x2 average pool; shortcut:
pool then 1x1 conv), then blocks of ReLU, conv, ReLU, conv [, pool] whose
shortcut (a 1x1 conv [and pool] when the width changes or it down-samples,
else the identity) takes ReLU(x), not x: Mimicry's block applies its first
ReLU in place, so its shortcut sees the rectified input. Then ReLU, global
SUM pooling (`features`), a linear `logits` layer; SSGAN adds a 4-way
rotation head `l_y`, cGAN-PD a projection `<embed(y), features>` (`l_y`).
Every layer of D is spectrally normalised, and the convolutions use
PyTorch's `spectral_norm` (`TorchSpectralNormalization`). The last layers
use it too, except in the 32x32 SSGAN and cGAN-PD discriminators, which
take Mimicry's own SN (`MimicrySpectralNormalization`, one power iteration
also at inference); `head_spectral_norm` chooses it explicitly.

Block output widths, as fractions of `ngf` (G) and `ndf` (D), with the
defaults; "d" marks a D block that down-samples:

- 32: G ngf 256: 1, 1, 1 from 4x4; D ndf 128: 1 d, 1 d, 1, 1.
- 48: G ngf 512: 1/2, 1/4, 1/8 from 6x6; D ndf 1024: 1/16 d, 1/8 d,
  1/4 d, 1/2 d, 1.
- 64: G ngf 1024: 1/2, 1/4, 1/8, 1/16 from 4x4; D ndf 1024: 1/16 d, 1/8 d,
  1/4 d, 1/2 d, 1 d.
- 128: G ngf 1024: 1, 1/2, 1/4, 1/8, 1/16 from 4x4; D ndf 1024: 1/16 d,
  1/8 d, 1/4 d, 1/2 d, 1 d, 1.

Widths are Mimicry's `ngf` / `ndf` (`base_channels`), divided by shifting
as in Mimicry (`ngf >> k`). Parameter counts at the default widths equal
Mimicry's: SSGAN 32 G 4,276,739 / D 1,054,341, SNGAN 32 D 1,053,825,
cGAN-PD 32 (10 classes) G 4,304,387 / D 1,055,105, SSGAN 48 G 4,878,083 /
D 10,145,541, SSGAN 128 G 32,150,787 / D 29,021,957.

Layer names are Mimicry's module paths with "_" for "." after the block
(`block2_c_sc` is `block2.c_sc`); the converter relies on them. Weights
start with Mimicry's initialisers (Xavier-uniform with gain sqrt(2) in the
residual convolutions, 1 elsewhere), biases at zero.
"""

import keras

from keras_ssl.layers.mimicry_conditional_batch_normalization import (
    MimicryConditionalBatchNormalization,
)
from keras_ssl.layers.mimicry_spectral_normalization import (
    MimicrySpectralNormalization,
)
from keras_ssl.layers.torch_batch_normalization import TorchBatchNormalization
from keras_ssl.layers.torch_spectral_normalization import TorchSpectralNormalization
from keras_ssl.utils.validation import check_choice, check_int

IMAGE_SIZES = (32, 48, 64, 128)
HEAD_SPECTRAL_NORMS = ("default", "torch", "mimicry")
STYLE = "mimicry"

# size -> (bottom width, right shifts of ngf giving each up-block's output)
_G_PLAN = {
    32: (4, (0, 0, 0)),
    48: (6, (1, 2, 3)),
    64: (4, (1, 2, 3, 4)),
    128: (4, (0, 1, 2, 3, 4)),
}
# size -> ((right shift of ndf, down-sampling) per block, index of the last layer)
_D_PLAN = {
    32: (((0, True), (0, True), (0, False), (0, False)), 5),
    48: (((4, True), (3, True), (2, True), (1, True), (0, False)), 5),
    64: (((4, True), (3, True), (2, True), (1, True), (0, True)), 6),
    128: (((4, True), (3, True), (2, True), (1, True), (0, True), (0, False)), 7),
}
_G_WIDTH = {32: 256, 48: 512, 64: 1024, 128: 1024}
_D_WIDTH = {32: 128, 48: 1024, 64: 1024, 128: 1024}


def _xavier(gain):
    """PyTorch's `xavier_uniform_(w, gain)`: U(+-gain sqrt(6 / (fan_in + fan_out)))."""
    return keras.initializers.VarianceScaling(
        scale=gain * gain, mode="fan_avg", distribution="uniform"
    )


def _check_size(image_size, what):
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int)
        or image_size not in IMAGE_SIZES
    ):
        raise ValueError(
            f"image_size must be one of {IMAGE_SIZES} for Mimicry's {what}. "
            f"Received: image_size={image_size!r}"
        )
    return image_size


def _check_width(width, shifts, name, default):
    width = check_int(width, name, allow_none=True)
    width = default if width is None else width
    if width >> max(shifts) < 1:
        raise ValueError(
            f"{name} must be at least {1 << max(shifts)} here (the narrowest "
            f"layer has {name} >> {max(shifts)} channels). Received: "
            f"{name}={width}"
        )
    return width


def _check_not_applicable(style, attention_resolution, what):
    if style != STYLE:
        raise ValueError(
            f"mimicry_{what} builds style='mimicry' networks only. "
            f"Received: style={style!r}"
        )
    if attention_resolution not in ("default", None):
        raise ValueError(
            f"Mimicry's SNGAN / SSGAN / cGAN-PD {what}s have no self-attention; "
            "attention_resolution must be None or 'default'. Received: "
            f"attention_resolution={attention_resolution!r}"
        )


def _conv(filters, kernel_size, name, gain, spectral_norm=False):
    conv = keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        kernel_initializer=_xavier(gain),
        name=name if not spectral_norm else f"{name}_conv",
    )
    return TorchSpectralNormalization(conv, name=name) if spectral_norm else conv


def _upsample(name):
    return keras.layers.UpSampling2D(2, interpolation="bilinear", name=name)


def mimicry_generator(
    image_size,
    z_dim=128,
    base_channels=None,
    channels=3,
    num_classes=None,
    normalization=None,
    attention_resolution="default",
    style=STYLE,
    spectral_norm=None,
    hidden_units=32,
    momentum=0.9,
    name="generator",
):
    """Mimicry's ResNet generator (SNGAN / SSGAN; cGAN-PD with `num_classes`).

    Takes the arguments of `resnet_generator`; those that describe something
    Mimicry's generators do not have are rejected. See the module docstring.

    Args:
        image_size: 32, 48, 64 or 128.
        z_dim: size of the latent vector (Mimicry's `nz`).
        base_channels: Mimicry's `ngf`; default 256 at 32, 512 at 48, else
            1024.
        channels: output image channels (Mimicry: 3).
        num_classes: with it, G takes `[z, labels]` and its blocks use
            class-conditional BN (cGAN-PD).
        normalization: None, "batch" (without `num_classes`) or
            "conditional" (with it). "self_modulated" is rejected: Mimicry's
            SSGAN generator uses plain BN.
        attention_resolution: None or "default" (no attention).
        style: "mimicry".
        spectral_norm: None or False (Mimicry's G has no spectral norm).
        hidden_units: unused (the width of a self-modulation MLP).
        momentum: momentum of the BN moving statistics (PyTorch 0.1 = 0.9).
        name: model name.

    Example:

    >>> g = mimicry_generator(32, z_dim=16, base_channels=8)
    >>> tuple(g(keras.ops.zeros((2, 16))).shape)
    (2, 32, 32, 3)
    """
    image_size = _check_size(image_size, "generator")
    bottom, shifts = _G_PLAN[image_size]
    z_dim = check_int(z_dim, "z_dim")
    channels = check_int(channels, "channels")
    num_classes = check_int(num_classes, "num_classes", allow_none=True)
    ngf = _check_width(base_channels, shifts, "base_channels", _G_WIDTH[image_size])
    _check_not_applicable(style, attention_resolution, "generator")
    expected = "batch" if num_classes is None else "conditional"
    if normalization not in (None, expected):
        raise ValueError(
            f"Mimicry's generator uses normalization={expected!r} "
            f"({'with' if num_classes else 'without'} num_classes); it has no "
            "self-modulated BN (its SSGAN generator is the SNGAN one). "
            f"Received: normalization={normalization!r}, num_classes={num_classes}"
        )
    if spectral_norm:
        raise ValueError(
            "Mimicry's generators have no spectral norm; spectral_norm must be "
            f"None or False. Received: spectral_norm={spectral_norm!r}"
        )

    z = keras.Input((z_dim,), name="z")
    inputs = [z]
    labels = None
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)

    def norm(layer_name, x):
        if labels is None:
            return TorchBatchNormalization(momentum=momentum, name=layer_name)(x)
        return MimicryConditionalBatchNormalization(
            num_classes, momentum=momentum, name=layer_name
        )(x, labels)

    x = keras.layers.Dense(
        bottom * bottom * ngf, kernel_initializer=_xavier(1.0), name="l1"
    )(z)
    x = keras.layers.Reshape((bottom, bottom, ngf), name="l1_reshape")(x)
    for index, shift in enumerate(shifts, start=2):
        block = f"block{index}"
        filters = ngf >> shift
        h = norm(f"{block}_b1", x)
        h = keras.layers.ReLU(name=f"{block}_relu1")(h)
        h = _upsample(f"{block}_up")(h)
        h = _conv(filters, 3, f"{block}_c1", 2**0.5)(h)
        h = norm(f"{block}_b2", h)
        h = keras.layers.ReLU(name=f"{block}_relu2")(h)
        h = _conv(filters, 3, f"{block}_c2", 2**0.5)(h)
        shortcut = _upsample(f"{block}_sc_up")(x)
        shortcut = _conv(filters, 1, f"{block}_c_sc", 1.0)(shortcut)
        x = keras.layers.Add(name=f"{block}_add")([h, shortcut])
    last = len(shifts) + 2
    x = TorchBatchNormalization(momentum=momentum, name=f"b{last}")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = _conv(channels, 3, f"c{last}", 1.0)(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(inputs if labels is not None else z, images, name=name)


def default_head_spectral_norm(image_size, rotation_head, num_classes):
    """Which SN Mimicry's last layers use: "mimicry" or "torch".

    Only the 32x32 SSGAN and cGAN-PD discriminators import Mimicry's own
    `SNLinear` / `SNEmbedding` (through `torch_mimicry.modules`); every
    other one takes `modules.layers.SNLinear`, i.e. PyTorch's spectral_norm.
    """
    if image_size == 32 and (rotation_head or num_classes is not None):
        return "mimicry"
    return "torch"


def mimicry_discriminator(
    image_size,
    base_channels=None,
    channels=3,
    spectral_norm=True,
    num_classes=None,
    rotation_head=False,
    class_head=False,
    attention_resolution="default",
    style=STYLE,
    pooling="sum",
    head_spectral_norm="default",
    name="discriminator",
):
    """Mimicry's ResNet discriminator (SNGAN; SSGAN with `rotation_head`;
    cGAN-PD with `num_classes`).

    Takes the arguments of `resnet_discriminator`; those that describe
    something Mimicry's discriminators do not have are rejected.

    Outputs (a dict): "logits" (B, 1), with the projection term when
    `num_classes`; "features" (B, ndf), the summed features; and
    "rotation_logits" (B, 4) with `rotation_head`.

    Args:
        image_size: 32, 48, 64 or 128.
        base_channels: Mimicry's `ndf`; default 128 at 32, else 1024.
        channels: input image channels (Mimicry: 3).
        spectral_norm: True (Mimicry's discriminators are always
            spectrally normalised).
        num_classes: classes of the projection term (cGAN-PD); the model
            then takes `[images, labels]`.
        rotation_head: add SSGAN's 4-way rotation head.
        class_head: False (Mimicry has no classifier head).
        attention_resolution: None or "default" (no attention).
        style: "mimicry".
        pooling: "sum" or None (Mimicry's global sum pooling).
        head_spectral_norm: SN of the last layers: "torch" (PyTorch's
            `spectral_norm`), "mimicry" (Mimicry's own SN), or "default":
            what the Mimicry network of this size and kind uses (see
            `default_head_spectral_norm`).
        name: model name.

    Example:

    >>> d = mimicry_discriminator(32, base_channels=8, rotation_head=True)
    >>> out = d(keras.ops.zeros((2, 32, 32, 3)))
    >>> tuple(out["logits"].shape), tuple(out["rotation_logits"].shape)
    ((2, 1), (2, 4))
    """
    from keras_ssl.architectures.resnet_gan import GlobalSumPooling2D

    image_size = _check_size(image_size, "discriminator")
    plan, last = _D_PLAN[image_size]
    shifts = [shift for shift, _ in plan]
    channels = check_int(channels, "channels")
    num_classes = check_int(num_classes, "num_classes", allow_none=True)
    ndf = _check_width(base_channels, shifts, "base_channels", _D_WIDTH[image_size])
    _check_not_applicable(style, attention_resolution, "discriminator")
    if spectral_norm is not True:
        raise ValueError(
            "Mimicry's discriminators are spectrally normalised; spectral_norm "
            f"must be True. Received: spectral_norm={spectral_norm!r}"
        )
    if class_head:
        raise ValueError(
            "Mimicry's discriminators have no classifier head (S3GAN's); "
            f"class_head must be False. Received: class_head={class_head!r}"
        )
    if pooling not in ("sum", None):
        raise ValueError(
            "Mimicry's discriminators use global sum pooling; pooling must be "
            f"'sum'. Received: pooling={pooling!r}"
        )
    if rotation_head and num_classes is not None:
        raise ValueError(
            "Mimicry has no discriminator with both a rotation head and a "
            "projection (both are its layer l_y). Received: rotation_head=True, "
            f"num_classes={num_classes}"
        )
    check_choice(head_spectral_norm, "head_spectral_norm", HEAD_SPECTRAL_NORMS)
    if head_spectral_norm == "default":
        head_spectral_norm = default_head_spectral_norm(
            image_size, rotation_head, num_classes
        )
    head_sn = (
        MimicrySpectralNormalization
        if head_spectral_norm == "mimicry"
        else TorchSpectralNormalization
    )

    images = keras.Input((image_size, image_size, channels), name="images")
    inputs = images
    if num_classes is not None:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [images, labels]
    x, in_filters = images, channels
    for index, (shift, downsample) in enumerate(plan, start=1):
        block = f"block{index}"
        filters = ndf >> shift
        if index == 1:
            h = _conv(filters, 3, f"{block}_c1", 2**0.5, True)(x)
            h = keras.layers.ReLU(name=f"{block}_relu1")(h)
            h = _conv(filters, 3, f"{block}_c2", 2**0.5, True)(h)
            h = keras.layers.AveragePooling2D(2, name=f"{block}_pool")(h)
            shortcut = keras.layers.AveragePooling2D(2, name=f"{block}_sc_pool")(x)
            shortcut = _conv(filters, 1, f"{block}_c_sc", 1.0, True)(shortcut)
        else:
            # Mimicry's in-place ReLU: the shortcut also sees ReLU(x).
            rectified = keras.layers.ReLU(name=f"{block}_relu0")(x)
            h = _conv(in_filters, 3, f"{block}_c1", 2**0.5, True)(rectified)
            h = keras.layers.ReLU(name=f"{block}_relu1")(h)
            h = _conv(filters, 3, f"{block}_c2", 2**0.5, True)(h)
            shortcut = rectified
            if in_filters != filters or downsample:
                shortcut = _conv(filters, 1, f"{block}_c_sc", 1.0, True)(shortcut)
            if downsample:
                h = keras.layers.AveragePooling2D(2, name=f"{block}_pool")(h)
                shortcut = keras.layers.AveragePooling2D(2, name=f"{block}_sc_pool")(
                    shortcut
                )
        x = keras.layers.Add(name=f"{block}_add")([h, shortcut])
        in_filters = filters
    x = keras.layers.ReLU(name="relu")(x)
    features = GlobalSumPooling2D(name="features")(x)
    logits = head_sn(
        keras.layers.Dense(1, kernel_initializer=_xavier(1.0), name=f"l{last}_dense"),
        name=f"l{last}",
    )(features)
    outputs = {"features": features}
    if rotation_head:
        outputs["rotation_logits"] = head_sn(
            keras.layers.Dense(4, kernel_initializer=_xavier(1.0), name="l_y_dense"),
            name="l_y",
        )(features)
    if num_classes is not None:
        embedded = head_sn(
            keras.layers.Embedding(
                num_classes,
                ndf,
                embeddings_initializer=_xavier(1.0),
                name="l_y_embedding",
            ),
            name="l_y",
        )(labels)
        projection = keras.layers.Dot(axes=1, name="projection")([embedded, features])
        logits = keras.layers.Add(name="projected_logits")([logits, projection])
    outputs["logits"] = logits
    return keras.Model(inputs, outputs, name=name)
