"""compare_gan's `resnet_cifar` and `resnet5` networks, exactly.

The CIFAR-10 (32x32) and ImageNet 128x128 networks of the SS-GAN paper
(Chen et al., "Self-Supervised GANs via Auxiliary Rotation Loss", CVPR 2019)
as google/compare_gan builds them (`architectures/resnet_cifar.py`,
`resnet5.py`, `resnet_ops.py`, `arch_ops.py`), so that its checkpoints load
by exact variable name (`keras_ssl.convert.compare_gan`) and give the same
outputs. Every layer is named after its compare_gan variable scope with "/"
written as ".", e.g. `generator.B1.up_conv1` holds
`generator/B1/up_conv1/{kernel,bias}`.

What makes them differ from SN-GAN's networks (the "sngan" style):
- every block has a 3x3 convolution shortcut, also when the widths match;
- G up-samples by zero insertion (`ZeroInsertionUpSampling2D`), not nearest;
- D has no "optimized" first block (B1 starts with a ReLU on the image),
  down-samples by convolution then 2x2 average pooling, and mean-pools;
- spectral norm keeps compare_gan's left singular vector, shape (R, 1), and
  updates it on every forward pass, in training and inference alike.

Widths (`base_channels`): resnet_cifar G 256 / D 128 (the block width);
resnet5 ch 64, G ch x (8, 8, 4, 4, 2, 1), D ch x (1, 2, 4, 4, 8, 8) after a
first block B0 to ch.

Image convention. compare_gan's images are in [0, 1]; ours are in [-1, 1].
The maps sit at the network boundary: D starts with `x01 = (x + 1) / 2`
(layer `images_01`), and G ends with `x = 2 * sigmoid(t) - 1` (layer
`images`). A converted model's outputs are the original's under these affine
maps: G images `ours = 2 * original - 1`, D logits identical for
`ours(2 x - 1) = original(x)`.
"""

import keras
from keras import ops

from keras_ssl.layers.class_projection import ClassProjection
from keras_ssl.layers.linear_conditional_batch_normalization import (
    LinearConditionalBatchNormalization,
)
from keras_ssl.layers.self_modulated_batch_normalization import (
    SelfModulatedBatchNormalization,
)
from keras_ssl.layers.spectral_normalization import SpectralNormalization
from keras_ssl.layers.zero_insertion_up_sampling_2d import ZeroInsertionUpSampling2D
from keras_ssl.utils.validation import check_choice, check_int

COMPARE_GAN_STYLES = ("resnet_cifar", "resnet5", "resnet_biggan")
NORMALIZATIONS = ("batch", "conditional", "self_modulated")
IMAGE_SIZES = {"resnet_cifar": (32,), "resnet5": (128,)}
RESNET5_G_MULTIPLIERS = (8, 8, 4, 4, 2, 1)
RESNET5_D_MULTIPLIERS = (1, 2, 4, 4, 8, 8)


class Builder:
    """Creates compare_gan's layers with its initialisers and SN settings.

    Args:
        initializer: "normal" (N(0, 0.02^2), the SS-GAN configs) or
            "orthogonal" (the BigGAN config's `weights.initializer`).
        singular_vector: "left" (SS-GAN configs) or "auto" (BigGAN).
        momentum: batch-norm moving-average decay (0.9 in every config).
        epsilon: batch-norm epsilon (1e-5 in every config).
    """

    def __init__(self, initializer, singular_vector, momentum=0.9, epsilon=1e-5):
        self.initializer = initializer
        self.singular_vector = singular_vector
        self.momentum = momentum
        self.epsilon = epsilon

    def init(self):
        if self.initializer == "orthogonal":
            return keras.initializers.Orthogonal()
        return keras.initializers.RandomNormal(stddev=0.02)

    def _wrap(self, layer, spectral_norm, name):
        if not spectral_norm:
            return layer
        return SpectralNormalization(
            layer,
            singular_vector=self.singular_vector,
            update_at_inference=True,
            name=name,
        )

    def conv(self, filters, kernel_size, name, spectral_norm, use_bias=True):
        conv = keras.layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=self.init(),
            name=f"{name}.layer" if spectral_norm else name,
        )
        return self._wrap(conv, spectral_norm, name)

    def dense(self, units, name, spectral_norm, use_bias=True, bias_initializer=None):
        dense = keras.layers.Dense(
            units,
            use_bias=use_bias,
            kernel_initializer=self.init(),
            bias_initializer=bias_initializer or "zeros",
            name=f"{name}.layer" if spectral_norm else name,
        )
        return self._wrap(dense, spectral_norm, name)

    def projection(self, num_classes, name, spectral_norm, initializer=None):
        return ClassProjection(
            num_classes,
            use_spectral_norm=spectral_norm,
            embeddings_initializer=initializer or "glorot_normal",
            singular_vector=self.singular_vector,
            update_at_inference=True,
            name=name,
        )

    def batch_norm(self, name, statistics="moving"):
        """compare_gan's `batch_norm`: standardise, then gamma and beta."""
        if statistics == "accumulated":
            from keras_ssl.layers.standing_batch_normalization import (
                StandingBatchNormalization,
            )

            return StandingBatchNormalization(epsilon=self.epsilon, name=name)
        return keras.layers.BatchNormalization(
            momentum=self.momentum, epsilon=self.epsilon, name=name
        )

    def normalize(self, x, name, normalization, condition, spectral_norm, options):
        """One of compare_gan's G normalisations, applied to `x`."""
        statistics = options.get("statistics", "moving")
        if normalization == "batch":
            return self.batch_norm(name, statistics)(x)
        if normalization == "self_modulated":
            return SelfModulatedBatchNormalization(
                hidden_units=options.get("hidden_units", 32),
                momentum=self.momentum,
                epsilon=self.epsilon,
                name=name,
            )(x, condition)
        return LinearConditionalBatchNormalization(
            use_bias=False,
            use_spectral_norm=spectral_norm,
            singular_vector=self.singular_vector,
            update_at_inference=True,
            statistics=statistics,
            momentum=self.momentum,
            epsilon=self.epsilon,
            kernel_initializer=self.init(),
            name=name,
        )(x, condition)


def check_normalization(normalization, num_classes, spectral_norm, style):
    if normalization is None:
        normalization = "batch" if num_classes is None else "conditional"
    check_choice(normalization, "normalization", NORMALIZATIONS)
    if normalization == "conditional" and num_classes is None:
        raise ValueError(
            "normalization='conditional' needs num_classes. Received: num_classes=None"
        )
    if normalization == "self_modulated" and spectral_norm:
        raise ValueError(
            f"The {style} generator supports self-modulated batch norm without "
            "spectral norm only (compare_gan's SS-GAN setting). Received: "
            "normalization='self_modulated', spectral_norm=True"
        )
    return normalization


def check_size(image_size, style, sizes):
    if isinstance(image_size, bool) or image_size not in sizes:
        raise ValueError(
            f"image_size must be one of {tuple(sizes)} for style={style!r}. "
            f"Received: image_size={image_size!r}"
        )
    return int(image_size)


@keras.saving.register_keras_serializable(package="keras_ssl")
class OneHotLabels(keras.layers.Layer):
    """Int labels (B,) as one-hot rows (B, K); -1 (unknown) gives zeros.

    compare_gan feeds labels as one-hot `y` and marks an unlabelled image by
    an all-zero row (S3GAN).
    """

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_int(num_classes, "num_classes")

    def call(self, labels):
        labels = ops.cast(labels, "int32")
        known = ops.cast(ops.expand_dims(labels >= 0, -1), self.compute_dtype)
        return ops.one_hot(ops.maximum(labels, 0), self.num_classes) * known

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


def one_hot(labels, num_classes, name):
    return OneHotLabels(num_classes, name=name)(labels)


def resnet_block(
    x,
    builder,
    scope,
    filters,
    scale,
    is_generator,
    spectral_norm,
    norm=None,
    shortcut_kernel=3,
):
    """compare_gan's residual blocks, `resnet_ops.ResNetBlock` and
    `resnet_biggan.BigGanResNetBlock`.

    G: main = norm, ReLU, unpool, conv3x3, norm, ReLU, conv3x3. D: main =
    ReLU, conv3x3, ReLU, conv3x3, pool (D has no normalisation). The
    shortcut is a `shortcut_kernel` convolution of x, up- or down-sampled like
    the main path: 3 (ResNetBlock), 1 (BigGanResNetBlock) or None (no
    shortcut: BigGanResNetBlock where the width does not change).
    """
    first = scale if is_generator else "none"
    second = "none" if is_generator else scale

    def conv(inputs, size, suffix, scale_of):
        prefix = "same" if scale_of == "none" else scale_of
        name = f"{scope}.{prefix}_{suffix}"
        if scale_of == "up":
            inputs = ZeroInsertionUpSampling2D(name=f"{name}.unpool")(inputs)
        outputs = builder.conv(filters, size, name, spectral_norm)(inputs)
        if scale_of == "down":
            outputs = keras.layers.AveragePooling2D(
                2, strides=2, padding="same", name=f"{name}.pool"
            )(outputs)
        return outputs

    h = x
    if norm is not None:
        h = norm(h, f"{scope}.bn1")
    h = keras.layers.ReLU(name=f"{scope}.relu1")(h)
    h = conv(h, 3, "conv1", first)
    if norm is not None:
        h = norm(h, f"{scope}.bn2")
    h = keras.layers.ReLU(name=f"{scope}.relu2")(h)
    h = conv(h, 3, "conv2", second)
    if shortcut_kernel is None:
        return h
    shortcut = conv(x, shortcut_kernel, "conv_shortcut", scale)
    return keras.layers.Add(name=f"{scope}.add")([h, shortcut])


def generator_inputs(z_dim, num_classes):
    z = keras.Input((z_dim,), name="z")
    if num_classes is None:
        return z, None, z
    labels = keras.Input((), dtype="int32", name="labels")
    return z, labels, [z, labels]


def _check_style(style, image_size, options):
    """The image size of a resnet_cifar / resnet5 network, checked."""
    check_choice(style, "style", ("resnet_cifar", "resnet5"))
    if options:
        raise TypeError(f"Unknown arguments for style={style!r}: {sorted(options)}")
    return check_size(image_size, style, IMAGE_SIZES[style])


def _check_attention(attention_resolution, style):
    if attention_resolution not in ("default", None):
        raise ValueError(
            f"style={style!r} has no self-attention (compare_gan's network); "
            "attention_resolution must be 'default' or None. Received: "
            f"attention_resolution={attention_resolution!r}"
        )


def compare_gan_generator(
    image_size,
    z_dim=128,
    base_channels=None,
    channels=3,
    num_classes=None,
    normalization=None,
    attention_resolution="default",
    style="resnet_cifar",
    spectral_norm=None,
    hidden_units=32,
    momentum=0.9,
    name="generator",
    **options,
):
    """compare_gan's `resnet_cifar` (32) or `resnet5` (128) generator.

    `z (B, z_dim) [, labels (B,)] -> images (B, S, S, channels)` in [-1, 1]
    (compare_gan's sigmoid output x mapped to 2 x - 1). `style="resnet_biggan"`
    goes to `compare_gan_biggan.biggan_generator`.

    Args:
        image_size: 32 (resnet_cifar) or 128 (resnet5).
        z_dim: latent size (compare_gan: 128).
        base_channels: resnet_cifar block width (256) or resnet5 `ch` (64).
        channels: image channels.
        num_classes: with it G takes `[z, labels]`; conditional batch norm
            computes gamma and beta as linear maps (no bias) of one-hot y.
        normalization: "batch", "self_modulated" (SS-GAN's sBN on z, hidden
            width `hidden_units`) or "conditional"; default "conditional"
            with `num_classes`, else "batch".
        attention_resolution: "default" or None (no attention here).
        style: "resnet_cifar" or "resnet5".
        spectral_norm: spectral norm in G (default False, as SS-GAN; resnet5
            never normalises `fc_noise` and `final_conv`).
        hidden_units: sBN hidden width (compare_gan: 32).
        momentum: moving-average decay of batch norm (compare_gan: 0.9).
        name: model name.

    Example:

    >>> g = compare_gan_generator(32, z_dim=8, base_channels=8,
    ...                           normalization="self_modulated")
    >>> tuple(g(keras.ops.zeros((2, 8))).shape)
    (2, 32, 32, 3)
    """
    if style == "resnet_biggan":
        from keras_ssl.architectures.compare_gan_biggan import biggan_generator

        return biggan_generator(
            image_size,
            z_dim,
            base_channels,
            channels,
            num_classes,
            normalization,
            attention_resolution,
            spectral_norm,
            momentum,
            name=name,
            **options,
        )
    image_size = _check_style(style, image_size, options)
    z_dim = check_int(z_dim, "z_dim")
    channels = check_int(channels, "channels")
    num_classes = check_int(num_classes, "num_classes", allow_none=True)
    base_channels = check_int(base_channels, "base_channels", allow_none=True)
    spectral_norm = bool(spectral_norm)
    normalization = check_normalization(
        normalization, num_classes, spectral_norm, style
    )
    _check_attention(attention_resolution, style)
    builder = Builder("normal", "left", momentum=momentum)
    z, labels, inputs = generator_inputs(z_dim, num_classes)
    condition = None
    if normalization == "self_modulated":
        condition = z
    elif normalization == "conditional":
        condition = one_hot(labels, num_classes, "generator.one_hot_y")
    norm_options = {"hidden_units": hidden_units}

    def norm(x, scope):
        return builder.normalize(
            x, scope, normalization, condition, spectral_norm, norm_options
        )

    if style == "resnet_cifar":
        width = 256 if base_channels is None else base_channels
        widths = (width,) * 4
        scales = ("up",) * 3
        fc_sn = conv_sn = spectral_norm
    else:
        ch = 64 if base_channels is None else base_channels
        widths = tuple(ch * m for m in RESNET5_G_MULTIPLIERS)
        scales = ("up",) * 5
        fc_sn = conv_sn = False
    x = builder.dense(16 * widths[0], "generator.fc_noise", fc_sn)(z)
    x = keras.layers.Reshape((4, 4, widths[0]), name="generator.fc_reshaped")(x)
    for i, scale in enumerate(scales):
        x = resnet_block(
            x,
            builder,
            f"generator.B{i + 1}",
            widths[i + 1],
            scale,
            True,
            spectral_norm,
            norm,
        )
    x = norm(x, "generator.final_norm")
    x = keras.layers.ReLU(name="generator.final_relu")(x)
    x = builder.conv(channels, 3, "generator.final_conv", conv_sn)(x)
    x = keras.layers.Activation("sigmoid", name="generator.sigmoid")(x)
    images = keras.layers.Rescaling(2.0, offset=-1.0, name="images")(x)
    return keras.Model(inputs, images, name=name)


def discriminator_heads(
    builder,
    features,
    labels,
    num_classes,
    rotation_head,
    class_head,
    spectral_norm,
    project_y,
    final_fc,
    projection_initializer=None,
):
    """D's outputs from its pooled features, with compare_gan's scopes.

    Logits: the SN linear `final_fc`, plus, with `project_y`, the
    architecture's projection `discriminator.embedding_fc` of the given
    labels (`projection_initializer`: glorot-normal by default).
    Rotation: `discriminator_rotation/score_classify` (SN linear, 4 units).
    Class (S3GAN predictor): `discriminator_predictor/predictor_linear`; an
    unknown label (-1) then takes the predicted class (gradient stopped) in
    the S3GAN projection `discriminator_projection` (glorot-normal kernel,
    no bias), which is added to the logits.
    """
    from keras_ssl.architectures.resnet_gan import FillUnknownLabels

    outputs = {"features": features}
    logits = builder.dense(1, final_fc, spectral_norm)(features)
    if project_y:
        projected = builder.projection(
            num_classes,
            "discriminator.embedding_fc",
            spectral_norm,
            initializer=projection_initializer,
        )(features, labels)
        logits = keras.layers.Add(name="discriminator.projected_logits")(
            [logits, projected]
        )
    if rotation_head:
        outputs["rotation_logits"] = builder.dense(
            4, "discriminator_rotation.score_classify", spectral_norm
        )(features)
    if class_head:
        class_logits = builder.dense(
            num_classes, "discriminator_predictor.predictor_linear", spectral_norm
        )(features)
        outputs["class_logits"] = class_logits
        filled = FillUnknownLabels(name="discriminator_predictor.fill_labels")(
            labels, class_logits
        )
        projection = builder.projection(
            num_classes, "discriminator_projection", spectral_norm
        )(features, filled)
        logits = keras.layers.Add(name="discriminator_projection.logits")(
            [logits, projection]
        )
    outputs["logits"] = logits
    return outputs


def discriminator_inputs(image_size, channels, num_classes):
    images = keras.Input((image_size, image_size, channels), name="images")
    if num_classes is None:
        return images, None, images
    labels = keras.Input((), dtype="int32", name="labels")
    return images, labels, [images, labels]


def check_discriminator_args(
    channels, num_classes, class_head, pooling, style, own_pooling
):
    channels = check_int(channels, "channels")
    if channels not in (1, 3):
        raise ValueError(
            f"compare_gan's discriminators take 1 or 3 channels ({style}). "
            f"Received: channels={channels}"
        )
    num_classes = check_int(num_classes, "num_classes", allow_none=True)
    if class_head and num_classes is None:
        raise ValueError(
            "class_head=True needs num_classes. Received: num_classes=None"
        )
    if pooling not in (None, own_pooling):
        raise ValueError(
            f"style={style!r} pools with {own_pooling!r} (compare_gan); "
            f"pooling must be None or {own_pooling!r}. Received: pooling={pooling!r}"
        )
    return channels, num_classes


def compare_gan_discriminator(
    image_size,
    base_channels=None,
    channels=3,
    spectral_norm=True,
    num_classes=None,
    rotation_head=False,
    class_head=False,
    attention_resolution="default",
    style="resnet_cifar",
    pooling=None,
    project_y=None,
    name="discriminator",
    **options,
):
    """compare_gan's `resnet_cifar` (32) or `resnet5` (128) discriminator.

    `images [, labels] -> {"logits", "features"[, "rotation_logits",
    "class_logits"]}` with images in [-1, 1] (mapped to compare_gan's [0, 1]
    inside). `style="resnet_biggan"` goes to
    `compare_gan_biggan.biggan_discriminator`.

    Args:
        image_size: 32 (resnet_cifar) or 128 (resnet5).
        base_channels: resnet_cifar width (128) or resnet5 `ch` (64).
        channels: 1 or 3.
        spectral_norm: spectral norm on every convolution and linear layer.
        num_classes: classes of the label input.
        rotation_head: SS-GAN's rotation head.
        class_head: S3GAN's class predictor and projection with predicted
            labels for unknown (-1) labels.
        attention_resolution: "default" or None (no attention here).
        style: "resnet_cifar" or "resnet5".
        pooling: None or "mean" (compare_gan mean-pools these two).
        project_y: resnet_cifar's own projection `embedding_fc` (linear map
            of one-hot y to the feature width, no bias) with the given labels;
            default: with `num_classes` and no `class_head`. resnet5 has none.
        name: model name.

    Example:

    >>> d = compare_gan_discriminator(32, base_channels=8, rotation_head=True)
    >>> sorted(d(keras.ops.zeros((2, 32, 32, 3))))
    ['features', 'logits', 'rotation_logits']
    """
    if style == "resnet_biggan":
        from keras_ssl.architectures.compare_gan_biggan import (
            biggan_discriminator,
        )

        return biggan_discriminator(
            image_size,
            base_channels,
            channels,
            spectral_norm,
            num_classes,
            rotation_head,
            class_head,
            attention_resolution,
            pooling,
            project_y,
            name=name,
            **options,
        )
    image_size = _check_style(style, image_size, options)
    channels, num_classes = check_discriminator_args(
        channels, num_classes, class_head, pooling, style, "mean"
    )
    base_channels = check_int(base_channels, "base_channels", allow_none=True)
    _check_attention(attention_resolution, style)
    spectral_norm = bool(spectral_norm)
    if project_y is None:
        project_y = num_classes is not None and not class_head
    if project_y and (num_classes is None or style == "resnet5"):
        raise ValueError(
            "project_y=True needs num_classes and style='resnet_cifar' "
            "(compare_gan's resnet5 has no projection; use class_head=True for "
            f"S3GAN's). Received: num_classes={num_classes}, style={style!r}"
        )
    builder = Builder("normal", "left")
    images, labels, inputs = discriminator_inputs(image_size, channels, num_classes)
    x = keras.layers.Rescaling(0.5, offset=0.5, name="images_01")(images)
    if style == "resnet_cifar":
        width = 128 if base_channels is None else base_channels
        plan = [(f"B{i + 1}", width, "down" if i <= 1 else "none") for i in range(4)]
    else:
        ch = 64 if base_channels is None else base_channels
        plan = [("B0", ch, "down")] + [
            (f"B{i + 1}", ch * m, "down")
            for i, m in enumerate(RESNET5_D_MULTIPLIERS[1:])
        ]
    for block, filters, scale in plan:
        x = resnet_block(
            x,
            builder,
            f"discriminator.{block}",
            filters,
            scale,
            False,
            spectral_norm,
        )
    x = keras.layers.ReLU(name="discriminator.final_relu")(x)
    features = keras.layers.GlobalAveragePooling2D(name="features")(x)
    outputs = discriminator_heads(
        builder,
        features,
        labels,
        num_classes,
        rotation_head,
        class_head,
        spectral_norm,
        project_y,
        "discriminator.disc_final_fc",
        projection_initializer=builder.init() if project_y else None,
    )
    return keras.Model(inputs, outputs, name=name)
