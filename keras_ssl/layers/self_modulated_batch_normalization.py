import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ssl")
class SelfModulatedBatchNormalization(keras.layers.Layer):
    """Batch normalisation whose scale and offset are predicted from the noise.

    `y = x_hat * gamma(z) + beta(z)` where `x_hat` is batch-normalised `x`
    (no affine of its own) and `gamma, beta = linear(ReLU(linear(z,
    hidden_units)))`, one output unit per channel. The bias of the `gamma`
    output starts at 1 and all kernels start as N(0, 0.02^2) (compare_gan's
    `linear`), so the layer starts close to plain batch normalisation.

    Reference: Chen, Lucic, Houlsby & Gelly, "On Self Modulation for
    Generative Adversarial Networks", ICLR 2019, used by the SS-GAN generator
    (Chen et al., "Self-Supervised GANs via Auxiliary Rotation Loss", CVPR
    2019).

    Args:
        hidden_units: width of the hidden layer of the modulation MLP (32 in
            compare_gan).
        momentum: momentum of the moving mean and variance.
        epsilon: added to the variance before the square root.

    Call arguments:
        inputs: (B, H, W, C) or (B, C) features (channels last).
        z: (B, Z) conditioning vector, the generator's latent code.
        training: use batch statistics and update the moving ones when True.

    Example:

    >>> import numpy as np
    >>> layer = SelfModulatedBatchNormalization(hidden_units=32)
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> z = np.random.normal(size=(4, 128)).astype("float32")
    >>> tuple(layer(x, z, training=True).shape)
    (4, 8, 8, 16)
    """

    def __init__(self, hidden_units=32, momentum=0.99, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(hidden_units, bool)
            or not isinstance(hidden_units, numbers.Integral)
            or hidden_units < 1
        ):
            raise ValueError(
                "SelfModulatedBatchNormalization expects hidden_units to be a "
                f"positive int. Received: hidden_units={hidden_units!r}"
            )
        self.hidden_units = int(hidden_units)
        self.momentum = momentum
        self.epsilon = epsilon
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=momentum,
            epsilon=epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )
        self.hidden = keras.layers.Dense(
            self.hidden_units,
            activation="relu",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy,
            name="hidden",
        )

    def build(self, inputs_shape, z_shape=None):
        if len(inputs_shape) < 2:
            raise ValueError(
                "SelfModulatedBatchNormalization expects inputs of rank >= 2 "
                f"(B, ..., C). Received: inputs_shape={inputs_shape}"
            )
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError(
                "SelfModulatedBatchNormalization needs a known channel "
                f"dimension. Received: inputs_shape={inputs_shape}"
            )
        if z_shape is None or len(z_shape) != 2 or z_shape[-1] is None:
            raise ValueError(
                "SelfModulatedBatchNormalization expects z of shape (B, Z) with "
                f"a known Z. Received: z_shape={z_shape}"
            )
        self.batch_norm.build(inputs_shape)
        self.hidden.build(z_shape)
        # gamma starts at 1 through its bias (compare_gan's bias_start=1.0).
        self.gamma_head = keras.layers.Dense(
            channels,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            bias_initializer="ones",
            dtype=self.dtype_policy,
            name="gamma",
        )
        self.beta_head = keras.layers.Dense(
            channels,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            bias_initializer="zeros",
            dtype=self.dtype_policy,
            name="beta",
        )
        self.gamma_head.build((z_shape[0], self.hidden_units))
        self.beta_head.build((z_shape[0], self.hidden_units))

    def call(self, inputs, z, training=None):
        normalized = self.batch_norm(inputs, training=training)
        hidden = self.hidden(z)
        broadcast = (-1,) + (1,) * (len(inputs.shape) - 2) + (inputs.shape[-1],)
        gamma = ops.reshape(self.gamma_head(hidden), broadcast)
        beta = ops.reshape(self.beta_head(hidden), broadcast)
        return normalized * gamma + beta

    def compute_output_shape(self, inputs_shape, z_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": self.hidden_units,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
            }
        )
        return config
