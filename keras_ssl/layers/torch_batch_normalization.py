import keras
from keras import ops

from keras_ssl.utils.validation import check_bool, check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class TorchBatchNormalization(keras.layers.Layer):
    """Batch normalisation with PyTorch's moving variance (unbiased batch variance).

    In training the input is normalised with the batch mean and the BIASED
    batch variance over every axis but the last, and the moving statistics
    are updated with the UNBIASED variance,

        moving_variance = momentum * moving_variance
                          + (1 - momentum) * var * n / (n - 1)

    (n values per channel), as `torch.nn.BatchNorm2d` does. Keras'
    `BatchNormalization` updates with the biased variance instead, so a
    network converted from PyTorch drifts from the original's statistics
    when it trains on; this layer keeps them equal. At inference the moving
    statistics are used. `momentum` follows Keras' convention (PyTorch's
    `momentum=0.1` is 0.9 here).

    Reference: Ioffe & Szegedy, "Batch Normalization", ICML 2015; PyTorch
    `torch.nn.BatchNorm2d`.

    Args:
        momentum: weight of the old moving statistics in an update.
        epsilon: added to the variance before the square root.
        center: learn an offset `beta`.
        scale: learn a scale `gamma`.

    Example:

    >>> import numpy as np
    >>> layer = TorchBatchNormalization()
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> tuple(layer(x, training=True).shape)
    (4, 8, 8, 16)
    """

    def __init__(self, momentum=0.9, epsilon=1e-5, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_number(momentum, "momentum", minimum=0, maximum=1)
        self.epsilon = check_number(epsilon, "epsilon", minimum=0)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or len(input_shape) < 2:
            raise ValueError(
                f"{type(self).__name__} needs inputs (B, ..., C) with a known "
                f"channel dimension. Received: input_shape={input_shape}"
            )
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self._statistic("moving_mean", shape, "zeros")
        self.moving_variance = self._statistic("moving_variance", shape, "ones")

    def _statistic(self, name, shape, initializer):
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=initializer,
            trainable=False,
            autocast=False,
            aggregation="mean",
        )

    def normalize(self, inputs, training=None):
        """`(x - mean) / sqrt(var + epsilon)`, updating the moving statistics."""
        x = ops.cast(inputs, "float32")
        if training:
            axes = tuple(range(len(x.shape) - 1))
            mean = ops.mean(x, axis=axes)
            variance = ops.mean(ops.square(x - mean), axis=axes)
            count = ops.cast(ops.size(x) // ops.shape(x)[-1], "float32")
            unbiased = variance * count / ops.maximum(count - 1.0, 1.0)
            m = self.momentum
            self.moving_mean.assign(m * self.moving_mean + (1.0 - m) * mean)
            self.moving_variance.assign(m * self.moving_variance + (1.0 - m) * unbiased)
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        return (x - mean) * ops.rsqrt(variance + self.epsilon)

    def call(self, inputs, training=None):
        x = self.normalize(inputs, training)
        if self.scale:
            x = x * ops.cast(self.gamma, "float32")
        if self.center:
            x = x + ops.cast(self.beta, "float32")
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
            }
        )
        return config
