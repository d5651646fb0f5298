import numbers

import keras
from keras import ops

from keras_ssl.layers.spectral_normalization import SpectralNormalization


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"SelfAttention2D expects {name} to be a positive int. "
            f"Received: {name}={value!r}"
        )
    return int(value)


@keras.saving.register_keras_serializable(package="keras_ssl")
class SelfAttention2D(keras.layers.Layer):
    """Non-local self-attention block over the positions of a feature map.

    Queries `f(x)` and keys `g(x)` are 1x1 convolutions to `C //
    channels_reduction` channels, values `h(x)` a 1x1 convolution to `C //
    value_channels_reduction` channels; each position attends to all (key)
    positions with `softmax(f g^T)`, a last 1x1 convolution maps the attended
    values back to C channels, and `y = x + gamma * o` with a learned scalar
    `gamma` initialised to 0, so the block starts as the identity. With
    `downsample=True` keys and values are 2x2 max-pooled (BigGAN,
    compare_gan's `non_local_block`), which divides the attention cost by 4.
    The 1x1 convolutions have no bias, as in compare_gan.

    References: Zhang, Goodfellow, Metaxas & Odena, "Self-Attention
    Generative Adversarial Networks", ICML 2019; Brock, Donahue & Simonyan,
    "Large Scale GAN Training for High Fidelity Natural Image Synthesis",
    ICLR 2019.

    Args:
        channels_reduction: C divided by the query/key width (8 in SAGAN).
        value_channels_reduction: C divided by the value width (2 in BigGAN;
            1 gives SAGAN's full-width values).
        downsample: 2x2 max-pool keys and values (needs even H and W).
        use_spectral_norm: wrap the four convolutions in
            `SpectralNormalization` (SAGAN and BigGAN do, in G and D).
        singular_vector, update_at_inference: options of that
            `SpectralNormalization` (compare_gan: "auto" and True).
        kernel_initializer: initializer of the four 1x1 kernels.

    Example:

    >>> import numpy as np
    >>> layer = SelfAttention2D(channels_reduction=8)
    >>> x = np.random.normal(size=(2, 8, 8, 32)).astype("float32")
    >>> bool(np.allclose(layer(x), x))  # gamma starts at 0
    True
    """

    def __init__(
        self,
        channels_reduction=8,
        value_channels_reduction=2,
        downsample=False,
        use_spectral_norm=False,
        singular_vector="right",
        update_at_inference=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels_reduction = _check_positive_int(
            channels_reduction, "channels_reduction"
        )
        self.value_channels_reduction = _check_positive_int(
            value_channels_reduction, "value_channels_reduction"
        )
        self.downsample = bool(downsample)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.singular_vector = singular_vector
        self.update_at_inference = bool(update_at_inference)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _conv(self, filters, name):
        conv = keras.layers.Conv2D(
            filters,
            1,
            use_bias=False,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )
        if self.use_spectral_norm:
            return SpectralNormalization(
                conv,
                singular_vector=self.singular_vector,
                update_at_inference=self.update_at_inference,
                dtype=self.dtype_policy,
                name=f"sn_{name}",
            )
        return conv

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "SelfAttention2D expects inputs of rank 4 (B, H, W, C). "
                f"Received: input_shape={input_shape}"
            )
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                "SelfAttention2D needs a known channel dimension. "
                f"Received: input_shape={input_shape}"
            )
        key_channels = channels // self.channels_reduction
        value_channels = channels // self.value_channels_reduction
        if key_channels < 1 or value_channels < 1:
            raise ValueError(
                "SelfAttention2D needs channels >= channels_reduction and >= "
                "value_channels_reduction. Received: channels="
                f"{channels}, channels_reduction={self.channels_reduction}, "
                f"value_channels_reduction={self.value_channels_reduction}"
            )
        if self.downsample and any(
            size is not None and size % 2 for size in input_shape[1:3]
        ):
            raise ValueError(
                "SelfAttention2D with downsample=True needs even height and "
                f"width. Received: input_shape={input_shape}"
            )
        self.query = self._conv(key_channels, "query")
        self.key = self._conv(key_channels, "key")
        self.value = self._conv(value_channels, "value")
        self.attention_output = self._conv(channels, "output")
        for conv in (self.query, self.key, self.value):
            conv.build(input_shape)
        self.attention_output.build(tuple(input_shape[:3]) + (value_channels,))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, inputs, training=None):
        shape = ops.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        query = self.query(inputs, training=training)
        key = self.key(inputs, training=training)
        value = self.value(inputs, training=training)
        if self.downsample:
            key = ops.max_pool(key, 2, strides=2)
            value = ops.max_pool(value, 2, strides=2)
        query = ops.reshape(query, (batch, -1, query.shape[-1]))
        key = ops.reshape(key, (batch, -1, key.shape[-1]))
        value = ops.reshape(value, (batch, -1, value.shape[-1]))
        attention = ops.softmax(ops.matmul(query, ops.transpose(key, (0, 2, 1))))
        attended = ops.reshape(
            ops.matmul(attention, value), (batch, height, width, value.shape[-1])
        )
        output = self.attention_output(attended, training=training)
        return inputs + ops.cast(self.gamma, output.dtype) * output

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels_reduction": self.channels_reduction,
                "value_channels_reduction": self.value_channels_reduction,
                "downsample": self.downsample,
                "use_spectral_norm": self.use_spectral_norm,
                "singular_vector": self.singular_vector,
                "update_at_inference": self.update_at_inference,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
