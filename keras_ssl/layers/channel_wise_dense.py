import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ssl")
class ChannelWiseDense(keras.layers.Layer):
    """A fully connected map over the positions of each channel separately.

    For every channel c, `y[:, :, :, c] = reshape(flatten(x[:, :, :, c]) @
    W_c + b_c)` with its own (H*W) x (H*W) matrix `W_c`; no weight connects
    two channels. With C channels of n x n this has C * n^4 weights (plus C *
    n^2 biases) instead of the (C n^2)^2 of a dense layer; the context
    encoder follows it with a 1x1 (stride-1) convolution to mix channels.

    Reference: Pathak, Krahenbuhl, Donahue, Darrell & Efros, "Context
    Encoders: Feature Learning by Inpainting", CVPR 2016 (section 3.1).

    Args:
        use_bias: add a (H*W, C) bias.
        kernel_initializer: initializer of the (C, H*W, H*W) kernel. The
            default, None, is Glorot uniform computed per channel (fan-in and
            fan-out H*W), since Keras' fan computation for a 3-D shape would
            treat the channels as a receptive field.
        bias_initializer: initializer of the bias.

    Example:

    >>> import numpy as np
    >>> layer = ChannelWiseDense()
    >>> tuple(layer(np.zeros((2, 4, 4, 8), "float32")).shape)
    (2, 4, 4, 8)
    >>> layer.count_params() == 8 * 16 * 16 + 8 * 16
    True
    """

    def __init__(
        self,
        use_bias=True,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = (
            None
            if kernel_initializer is None
            else keras.initializers.get(kernel_initializer)
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ChannelWiseDense expects inputs of rank 4 (B, H, W, C). "
                f"Received: input_shape={input_shape}"
            )
        height, width, channels = input_shape[1:]
        if height is None or width is None or channels is None:
            raise ValueError(
                "ChannelWiseDense needs known height, width and channels (its "
                f"weights depend on them). Received: input_shape={input_shape}"
            )
        positions = height * width
        initializer = self.kernel_initializer
        if initializer is None:
            limit = math.sqrt(6.0 / (positions + positions))
            initializer = keras.initializers.RandomUniform(-limit, limit)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(channels, positions, positions),
            initializer=initializer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(positions, channels),
                initializer=self.bias_initializer,
            )

    def call(self, inputs):
        height, width, channels = inputs.shape[1:]
        flat = ops.reshape(inputs, (-1, height * width, channels))
        outputs = ops.einsum("bpc,cpq->bqc", flat, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        return ops.reshape(outputs, (-1, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "use_bias": self.use_bias,
                "kernel_initializer": None
                if self.kernel_initializer is None
                else keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
