import keras

from keras_ssl.layers.generator_block import _check_filters, _conv


@keras.saving.register_keras_serializable(package="keras_ssl")
class DiscriminatorBlock(keras.layers.Layer):
    """Residual down-sampling block of the ResNet GAN discriminators.

    Main path: ReLU -> conv3x3 -> ReLU -> conv3x3 -> average-pool 2x2.
    Shortcut: conv1x1 -> average-pool (identity when the block neither
    down-samples nor changes the width). The `optimized` first block reads
    the image directly (no ReLU in front), and its shortcut pools before the
    1x1 convolution, as in SN-GAN's `OptimizedBlock`. No normalisation: the
    discriminators of SN-GAN, SS-GAN and S3GAN rely on spectral norm.

    References: Miyato et al., "Spectral Normalization for GANs", ICLR 2018;
    compare_gan's `resnet_ops`.

    Args:
        filters: output channels.
        downsample: halve the spatial size with 2x2 average pooling.
        optimized: the first block of the network (input = image).
        spectral_norm: spectrally normalise every convolution.
        kernel_initializer: initializer of the convolution kernels.

    Example:

    >>> import numpy as np
    >>> block = DiscriminatorBlock(16, optimized=True)
    >>> tuple(block(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 16, 16, 16)
    """

    def __init__(
        self,
        filters,
        downsample=True,
        optimized=False,
        spectral_norm=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _check_filters(filters, "DiscriminatorBlock")
        self.downsample = bool(downsample)
        self.optimized = bool(optimized)
        self.spectral_norm = bool(spectral_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conv_1 = self._make_conv(3, "conv_1")
        self.conv_2 = self._make_conv(3, "conv_2")
        self.shortcut = None
        self.pooling = keras.layers.AveragePooling2D(
            2, dtype=self.dtype_policy, name="pooling"
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

    def build(self, inputs_shape):
        if len(inputs_shape) != 4 or inputs_shape[-1] is None:
            raise ValueError(
                "DiscriminatorBlock expects inputs of shape (B, H, W, C) with "
                f"a known C. Received: inputs_shape={inputs_shape}"
            )
        channels = inputs_shape[-1]
        self.conv_1.build(inputs_shape)
        self.conv_2.build(tuple(inputs_shape[:3]) + (self.filters,))
        if self.optimized or self.downsample or channels != self.filters:
            self.shortcut = self._make_conv(1, "shortcut")
            self.shortcut.build(inputs_shape)

    def call(self, inputs, training=None):
        x = inputs if self.optimized else keras.ops.relu(inputs)
        x = self.conv_1(x, training=training)
        x = keras.ops.relu(x)
        x = self.conv_2(x, training=training)
        if self.downsample:
            x = self.pooling(x)
        shortcut = inputs
        if self.optimized:
            # Pool first: the 1x1 conv then runs on a quarter of the pixels.
            if self.downsample:
                shortcut = self.pooling(shortcut)
            shortcut = self.shortcut(shortcut, training=training)
        elif self.shortcut is not None:
            shortcut = self.shortcut(shortcut, training=training)
            if self.downsample:
                shortcut = self.pooling(shortcut)
        return x + shortcut

    def compute_output_shape(self, inputs_shape):
        batch, height, width, _ = inputs_shape
        if self.downsample:
            height = None if height is None else height // 2
            width = None if width is None else width // 2
        return (batch, height, width, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "downsample": self.downsample,
                "optimized": self.optimized,
                "spectral_norm": self.spectral_norm,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
