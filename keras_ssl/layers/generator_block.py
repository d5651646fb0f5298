import numbers

import keras

NORMALIZATIONS = ("batch", "conditional", "self_modulated")


def _check_filters(filters, layer_name):
    if (
        isinstance(filters, bool)
        or not isinstance(filters, numbers.Integral)
        or filters < 1
    ):
        raise ValueError(
            f"{layer_name} expects filters to be a positive int. "
            f"Received: filters={filters!r}"
        )
    return int(filters)


def _conv(filters, kernel_size, spectral_norm, kernel_initializer, name, dtype):
    from keras_ssl.layers.spectral_normalization import SpectralNormalization

    conv = keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        kernel_initializer=kernel_initializer,
        dtype=dtype,
        name=name,
    )
    if spectral_norm:
        return SpectralNormalization(conv, dtype=dtype, name=f"sn_{name}")
    return conv


@keras.saving.register_keras_serializable(package="keras_ssl")
class GeneratorBlock(keras.layers.Layer):
    """Residual up-sampling block of the ResNet GAN generators.

    Main path: norm -> ReLU -> up-sample x2 (nearest) -> conv3x3 -> norm ->
    ReLU -> conv3x3. Shortcut: up-sample x2 -> conv1x1 (identity when the
    block neither up-samples nor changes the width). The norm is plain batch
    normalisation, conditional batch normalisation (labels, cGAN / BigGAN /
    S3GAN) or self-modulated batch normalisation (the latent z, SS-GAN); its
    extra input is passed to `call` as `condition`.

    References: Miyato et al., "Spectral Normalization for GANs", ICLR 2018
    (the block); Gulrajani et al., "Improved Training of Wasserstein GANs",
    NeurIPS 2017 (the ResNet generator); compare_gan's `resnet_ops`.

    Args:
        filters: output channels.
        normalization: "batch", "conditional" (needs `num_classes`) or
            "self_modulated".
        num_classes: number of classes for conditional normalisation.
        hidden_units: hidden width of the self-modulation MLP.
        upsample: double the spatial size.
        spectral_norm: spectrally normalise the convolutions (BigGAN does in
            G; SN-GAN and compare_gan's CIFAR generator do not).
        momentum: momentum of the batch-norm moving statistics.
        epsilon: batch-norm epsilon.
        kernel_initializer: initializer of the convolution kernels.

    Call arguments:
        inputs: (B, H, W, C_in).
        condition: labels (B,) or (B, K) for "conditional", z (B, Z) for
            "self_modulated", unused for "batch".
        training: batch statistics (and moving-average updates) when True.

    Example:

    >>> import numpy as np
    >>> block = GeneratorBlock(16)
    >>> tuple(block(np.zeros((2, 4, 4, 32), "float32"), training=True).shape)
    (2, 8, 8, 16)
    """

    def __init__(
        self,
        filters,
        normalization="batch",
        num_classes=None,
        hidden_units=32,
        upsample=True,
        spectral_norm=False,
        momentum=0.9,
        epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _check_filters(filters, "GeneratorBlock")
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"GeneratorBlock expects normalization to be one of "
                f"{NORMALIZATIONS}. Received: normalization={normalization!r}"
            )
        if normalization == "conditional" and num_classes is None:
            raise ValueError(
                "GeneratorBlock with normalization='conditional' needs "
                "num_classes. Received: num_classes=None"
            )
        self.normalization = normalization
        self.num_classes = num_classes
        self.hidden_units = hidden_units
        self.upsample = bool(upsample)
        self.spectral_norm = bool(spectral_norm)
        self.momentum = momentum
        self.epsilon = epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.norm_1 = self._make_norm("norm_1")
        self.norm_2 = self._make_norm("norm_2")
        self.conv_1 = self._make_conv(3, "conv_1")
        self.conv_2 = self._make_conv(3, "conv_2")
        self.shortcut = None
        self.upsampling = keras.layers.UpSampling2D(
            2, interpolation="nearest", dtype=self.dtype_policy, name="upsampling"
        )

    def _make_conv(self, kernel_size, name):
        return _conv(
            self.filters,
            kernel_size,
            self.spectral_norm,
            keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            name,
            self.dtype_policy,
        )

    def _make_norm(self, name):
        from keras_ssl.layers.conditional_batch_normalization import (
            ConditionalBatchNormalization,
        )
        from keras_ssl.layers.self_modulated_batch_normalization import (
            SelfModulatedBatchNormalization,
        )

        common = {
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "dtype": self.dtype_policy,
            "name": name,
        }
        if self.normalization == "conditional":
            return ConditionalBatchNormalization(self.num_classes, **common)
        if self.normalization == "self_modulated":
            return SelfModulatedBatchNormalization(self.hidden_units, **common)
        return keras.layers.BatchNormalization(**common)

    def _norm(self, layer, x, condition, training):
        if self.normalization == "batch":
            return layer(x, training=training)
        return layer(x, condition, training=training)

    def build(self, inputs_shape, condition_shape=None):
        if len(inputs_shape) != 4 or inputs_shape[-1] is None:
            raise ValueError(
                "GeneratorBlock expects inputs of shape (B, H, W, C) with a "
                f"known C. Received: inputs_shape={inputs_shape}"
            )
        if self.normalization != "batch" and condition_shape is None:
            raise ValueError(
                f"GeneratorBlock with normalization={self.normalization!r} "
                "needs a `condition` input (labels or z)."
            )
        batch, height, width, channels = inputs_shape
        scale = 2 if self.upsample else 1
        up_shape = (
            batch,
            None if height is None else height * scale,
            None if width is None else width * scale,
        )
        for norm, shape in (
            (self.norm_1, inputs_shape),
            (self.norm_2, up_shape + (self.filters,)),
        ):
            if self.normalization == "batch":
                norm.build(shape)
            else:
                norm.build(shape, condition_shape)
        self.conv_1.build(up_shape + (channels,))
        self.conv_2.build(up_shape + (self.filters,))
        if self.upsample or channels != self.filters:
            self.shortcut = self._make_conv(1, "shortcut")
            self.shortcut.build(up_shape + (channels,))

    def call(self, inputs, condition=None, training=None):
        x = self._norm(self.norm_1, inputs, condition, training)
        x = keras.ops.relu(x)
        shortcut = inputs
        if self.upsample:
            x = self.upsampling(x)
            shortcut = self.upsampling(shortcut)
        x = self.conv_1(x, training=training)
        x = self._norm(self.norm_2, x, condition, training)
        x = keras.ops.relu(x)
        x = self.conv_2(x, training=training)
        if self.shortcut is not None:
            shortcut = self.shortcut(shortcut, training=training)
        return x + shortcut

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        batch, height, width, _ = inputs_shape
        scale = 2 if self.upsample else 1
        return (
            batch,
            None if height is None else height * scale,
            None if width is None else width * scale,
            self.filters,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "normalization": self.normalization,
                "num_classes": self.num_classes,
                "hidden_units": self.hidden_units,
                "upsample": self.upsample,
                "spectral_norm": self.spectral_norm,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
