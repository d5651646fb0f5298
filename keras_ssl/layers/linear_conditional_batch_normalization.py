import keras
from keras import ops

from keras_ssl.layers.spectral_normalization import SpectralNormalization
from keras_ssl.layers.standing_batch_normalization import StandingBatchNormalization
from keras_ssl.utils.validation import check_bool, check_choice, check_number

STATISTICS = ("accumulated", "moving")


@keras.saving.register_keras_serializable(package="keras_ssl")
class LinearConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalisation whose scale and offset are linear maps of a vector.

    `y = x_hat * gamma(c) + beta(c)` with `gamma(c) = c W_gamma` and
    `beta(c) = c W_beta` (no bias by default), where `c` is any conditioning
    vector. BigGAN's generator conditions each block on `c = [z_i, e(y)]`, a
    chunk of the latent code concatenated with a shared class embedding;
    compare_gan's `conditional_batch_norm` spectrally normalises both maps
    when the generator uses spectral norm. Unlike
    `ConditionalBatchNormalization` (one gamma/beta row per class) the gains
    here depend on z as well.

    References: Brock, Donahue & Simonyan, "Large Scale GAN Training for High
    Fidelity Natural Image Synthesis", ICLR 2019; de Vries et al.,
    "Modulating early visual processing by language", NeurIPS 2017.

    Args:
        use_bias: give both maps a bias (compare_gan: False).
        use_spectral_norm: spectrally normalise both maps.
        singular_vector, update_at_inference: options of that
            `SpectralNormalization` (compare_gan's BigGAN: "auto", True).
        statistics: "accumulated" (standing statistics, see
            `StandingBatchNormalization`; BigGAN) or "moving" (moving averages
            with `momentum`).
        momentum: momentum of the moving averages ("moving" only).
        epsilon: added to the variance inside the square root.
        kernel_initializer: initializer of both maps' kernels.

    Call arguments:
        inputs: (B, H, W, C) or (B, C) features.
        condition: (B, D) conditioning vectors.
        training: batch statistics when True.

    Example:

    >>> import numpy as np
    >>> layer = LinearConditionalBatchNormalization(statistics="moving")
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> c = np.random.normal(size=(4, 20)).astype("float32")
    >>> tuple(layer(x, c, training=True).shape)
    (4, 8, 8, 16)
    """

    def __init__(
        self,
        use_bias=False,
        use_spectral_norm=False,
        singular_vector="right",
        update_at_inference=False,
        statistics="accumulated",
        momentum=0.9,
        epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.use_spectral_norm = check_bool(use_spectral_norm, "use_spectral_norm")
        self.singular_vector = singular_vector
        self.update_at_inference = check_bool(
            update_at_inference, "update_at_inference"
        )
        self.statistics = check_choice(statistics, "statistics", STATISTICS)
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0)
        self.epsilon = check_number(epsilon, "epsilon", minimum=0.0)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if self.statistics == "accumulated":
            self.batch_norm = StandingBatchNormalization(
                center=False,
                scale=False,
                epsilon=self.epsilon,
                dtype=self.dtype_policy,
                name="batch_norm",
            )
        else:
            self.batch_norm = keras.layers.BatchNormalization(
                momentum=self.momentum,
                epsilon=self.epsilon,
                center=False,
                scale=False,
                dtype=self.dtype_policy,
                name="batch_norm",
            )

    def _map(self, channels, name):
        dense = keras.layers.Dense(
            channels,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )
        if not self.use_spectral_norm:
            return dense
        return SpectralNormalization(
            dense,
            singular_vector=self.singular_vector,
            update_at_inference=self.update_at_inference,
            dtype=self.dtype_policy,
            name=f"sn_{name}",
        )

    def build(self, inputs_shape, condition_shape=None):
        channels = inputs_shape[-1]
        if channels is None or len(inputs_shape) < 2:
            raise ValueError(
                "LinearConditionalBatchNormalization needs inputs (B, ..., C) "
                f"with a known C. Received: inputs_shape={inputs_shape}"
            )
        if condition_shape is None or len(condition_shape) != 2:
            raise ValueError(
                "LinearConditionalBatchNormalization expects a condition of "
                f"shape (B, D). Received: condition_shape={condition_shape}"
            )
        self.batch_norm.build(inputs_shape)
        self.gamma = self._map(channels, "gamma")
        self.beta = self._map(channels, "beta")
        self.gamma.build(condition_shape)
        self.beta.build(condition_shape)

    def call(self, inputs, condition, training=None):
        normalized = self.batch_norm(inputs, training=training)
        broadcast = (-1,) + (1,) * (len(inputs.shape) - 2) + (inputs.shape[-1],)
        gamma = ops.reshape(self.gamma(condition, training=training), broadcast)
        beta = ops.reshape(self.beta(condition, training=training), broadcast)
        return normalized * gamma + beta

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "use_bias": self.use_bias,
                "use_spectral_norm": self.use_spectral_norm,
                "singular_vector": self.singular_vector,
                "update_at_inference": self.update_at_inference,
                "statistics": self.statistics,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
