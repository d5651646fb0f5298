import keras
from keras import ops

from keras_ssl.layers._labels import check_num_classes, labels_to_weights


@keras.saving.register_keras_serializable(package="keras_ssl")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalisation whose scale and offset depend on the class label.

    The input is normalised by a batch normalisation without its own affine
    part; then `y = x_hat * gamma[y] + beta[y]` with one `gamma` (initialised
    to 1) and one `beta` (initialised to 0) per class. Soft or one-hot labels
    mix the rows of the tables (`labels @ gamma_table`), as in compare_gan's
    `linear(one_hot(y))`.

    References: de Vries et al., "Modulating early visual processing by
    language", NeurIPS 2017; Miyato & Koyama, "cGANs with Projection
    Discriminator", ICLR 2018; Brock et al., "Large Scale GAN Training"
    (BigGAN), ICLR 2019; Lucic et al., "High-Fidelity Image Generation With
    Fewer Labels" (S3GAN), ICML 2019.

    Args:
        num_classes: number of classes K.
        momentum: momentum of the moving mean and variance.
        epsilon: added to the variance before the square root.

    Call arguments:
        inputs: (B, H, W, C) or (B, C) features (channels last).
        labels: int class ids (B,) or float soft / one-hot labels (B, K).
        training: use batch statistics and update the moving ones when True.

    Example:

    >>> import numpy as np
    >>> layer = ConditionalBatchNormalization(num_classes=10)
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> tuple(layer(x, np.array([0, 1, 2, 3]), training=True).shape)
    (4, 8, 8, 16)
    """

    def __init__(self, num_classes, momentum=0.99, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        check_num_classes(num_classes, "ConditionalBatchNormalization")
        self.num_classes = int(num_classes)
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

    def build(self, inputs_shape, labels_shape=None):
        if len(inputs_shape) < 2:
            raise ValueError(
                "ConditionalBatchNormalization expects inputs of rank >= 2 "
                f"(B, ..., C). Received: inputs_shape={inputs_shape}"
            )
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError(
                "ConditionalBatchNormalization needs a known channel dimension. "
                f"Received: inputs_shape={inputs_shape}"
            )
        self.batch_norm.build(inputs_shape)
        self.gamma = self.add_weight(
            name="gamma", shape=(self.num_classes, channels), initializer="ones"
        )
        self.beta = self.add_weight(
            name="beta", shape=(self.num_classes, channels), initializer="zeros"
        )

    def call(self, inputs, labels, training=None):
        weights = labels_to_weights(
            labels, self.num_classes, self.compute_dtype, type(self).__name__
        )
        normalized = self.batch_norm(inputs, training=training)
        broadcast = (-1,) + (1,) * (len(inputs.shape) - 2) + (self.gamma.shape[-1],)
        gamma = ops.reshape(ops.matmul(weights, self.gamma), broadcast)
        beta = ops.reshape(ops.matmul(weights, self.beta), broadcast)
        return normalized * gamma + beta

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
            }
        )
        return config
