import keras
from keras import ops

from keras_ssl.utils.validation import check_bool, check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class StandingBatchNormalization(keras.layers.Layer):
    """Batch normalisation that uses accumulated ("standing") statistics at inference.

    Training calls normalise with the batch mean and the biased batch
    variance over all axes but the last, and change no state. Inference calls
    normalise with `accu_mean / accu_counter` and `accu_variance /
    accu_counter`: sums of batch statistics collected after training, with
    the generator in inference mode, while `update_accus` is 1 (each such
    call first adds its own batch mean and variance and 1 to the counter).
    This is BigGAN's "standing statistics" as compare_gan implements them
    (`standardize_batch(use_moving_averages=False)`); fill them with
    `keras_ssl.architectures.compare_gan_biggan.accumulate_standing_statistics`.
    Freshly built accumulators are 0 with a counter of 1e-12, like
    compare_gan's, so an unfilled layer gives no usable inference output.

    References: Brock, Donahue & Simonyan, "Large Scale GAN Training for High
    Fidelity Natural Image Synthesis", ICLR 2019; Lucic et al., "High-Fidelity
    Image Generation With Fewer Labels", ICML 2019 (google/compare_gan).

    Args:
        center: add a learned offset `beta` (initialised to 0).
        scale: multiply by a learned `gamma` (initialised to 1).
        epsilon: added to the variance inside the square root.

    Example:

    >>> import numpy as np
    >>> layer = StandingBatchNormalization()
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> y = ops.convert_to_numpy(layer(x, training=True))
    >>> bool(abs(y.mean()) < 1e-5)
    True
    """

    def __init__(self, center=True, scale=True, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.epsilon = check_number(epsilon, "epsilon", minimum=0.0)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or len(input_shape) < 2:
            raise ValueError(
                "StandingBatchNormalization needs inputs (B, ..., C) with a known "
                f"C. Received: input_shape={input_shape}"
            )
        if self.scale:
            self.gamma = self.add_weight(
                name="gamma", shape=(channels,), initializer="ones"
            )
        if self.center:
            self.beta = self.add_weight(
                name="beta", shape=(channels,), initializer="zeros"
            )
        stat = {"trainable": False, "autocast": False}
        self.accu_mean = self.add_weight(
            name="accu_mean", shape=(channels,), initializer="zeros", **stat
        )
        self.accu_variance = self.add_weight(
            name="accu_variance", shape=(channels,), initializer="zeros", **stat
        )
        self.accu_counter = self.add_weight(
            name="accu_counter",
            shape=(),
            initializer=keras.initializers.Constant(1e-12),
            **stat,
        )
        self.update_accus = self.add_weight(
            name="update_accus", shape=(), initializer="zeros", dtype="int32", **stat
        )

    def start_accumulating(self):
        """Zero the accumulated statistics and collect them from now on."""
        for variable in (self.accu_mean, self.accu_variance):
            variable.assign(ops.zeros(variable.shape, variable.dtype))
        self.accu_counter.assign(0.0)
        self.update_accus.assign(1)

    def stop_accumulating(self):
        """Keep the accumulated statistics fixed (`update_accus` back to 0)."""
        self.update_accus.assign(0)

    def _moments(self, inputs):
        axes = tuple(range(len(inputs.shape) - 1))
        mean = ops.mean(inputs, axis=axes)
        variance = ops.mean(ops.square(inputs - mean), axis=axes)
        return mean, variance

    def call(self, inputs, training=None):
        x = ops.cast(inputs, "float32")
        mean, variance = self._moments(x)
        if not training:
            flag = ops.cast(ops.equal(self.update_accus.value, 1), "float32")
            self.accu_mean.assign(self.accu_mean.value + flag * mean)
            self.accu_variance.assign(self.accu_variance.value + flag * variance)
            self.accu_counter.assign(self.accu_counter.value + flag)
            mean = self.accu_mean.value / self.accu_counter.value
            variance = self.accu_variance.value / self.accu_counter.value
        outputs = (x - mean) * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * ops.cast(self.gamma, "float32")
        if self.center:
            outputs = outputs + ops.cast(self.beta, "float32")
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"center": self.center, "scale": self.scale, "epsilon": self.epsilon}
        )
        return config
