import keras
from keras import ops

from keras_ssl.layers.torch_batch_normalization import TorchBatchNormalization
from keras_ssl.utils.validation import check_int


@keras.saving.register_keras_serializable(package="keras_ssl")
class _EmbedInitializer(keras.initializers.Initializer):
    """Mimicry's `embed` init: scales N(1, 0.02) in the first half, offsets 0."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        half = shape[-1] // 2
        scales = keras.random.normal(
            (shape[0], half), mean=1.0, stddev=0.02, dtype=dtype, seed=self.seed
        )
        offsets = ops.zeros((shape[0], shape[-1] - half), dtype=dtype)
        return ops.concatenate([scales, offsets], axis=-1)

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_ssl")
class MimicryConditionalBatchNormalization(TorchBatchNormalization):
    """Class-conditional batch norm laid out as Mimicry's `ConditionalBatchNorm2d`.

    The input is normalised by a batch norm without affine part (PyTorch
    statistics, see `TorchBatchNormalization`), then scaled and shifted by
    one row of an embedding table `embed` of shape (num_classes, 2C): the
    first C columns are the class's scale gamma, the last C its offset beta,
    `y = gamma[y] * x_hat + beta[y]`. The scales start at N(1, 0.02) and the
    offsets at 0, as in Mimicry. The table has Mimicry's layout so that its
    `embed.weight` loads unchanged; `ConditionalBatchNormalization` keeps two
    separate tables instead.

    Reference: de Vries et al., "Modulating early visual processing by
    language", NeurIPS 2017; Miyato & Koyama, "cGANs with Projection
    Discriminator", ICLR 2018; Mimicry `torch_mimicry/modules/layers.py`.

    Args:
        num_classes: number of classes K.
        momentum: weight of the old moving statistics (PyTorch 0.1 = 0.9).
        epsilon: added to the variance before the square root.
        embed_initializer: initializer of the (K, 2C) table.

    Call arguments:
        inputs: (B, ..., C) features (channels last).
        labels: int class ids (B,).
        training: batch statistics and moving-statistic updates when True.

    Example:

    >>> import numpy as np
    >>> layer = MimicryConditionalBatchNormalization(num_classes=10)
    >>> x = np.random.normal(size=(4, 8, 8, 16)).astype("float32")
    >>> tuple(layer(x, np.array([0, 1, 2, 3]), training=True).shape)
    (4, 8, 8, 16)
    """

    def __init__(
        self,
        num_classes,
        momentum=0.9,
        epsilon=1e-5,
        embed_initializer=None,
        **kwargs,
    ):
        kwargs.pop("center", None)
        kwargs.pop("scale", None)
        super().__init__(
            momentum=momentum, epsilon=epsilon, center=False, scale=False, **kwargs
        )
        self.num_classes = check_int(num_classes, "num_classes")
        self.embed_initializer = keras.initializers.get(
            embed_initializer or _EmbedInitializer()
        )

    def build(self, inputs_shape, labels_shape=None):
        super().build(inputs_shape)
        self.embed = self.add_weight(
            name="embed",
            shape=(self.num_classes, 2 * inputs_shape[-1]),
            initializer=self.embed_initializer,
        )

    def call(self, inputs, labels, training=None):
        x = self.normalize(inputs, training)
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        rows = ops.take(ops.cast(self.embed, "float32"), labels, axis=0)
        channels = self.embed.shape[-1] // 2
        shape = (-1,) + (1,) * (len(inputs.shape) - 2) + (channels,)
        gamma = ops.reshape(rows[:, :channels], shape)
        beta = ops.reshape(rows[:, channels:], shape)
        return ops.cast(gamma * x + beta, self.compute_dtype)

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        for key in ("center", "scale"):
            config.pop(key)
        config.update(
            {
                "num_classes": self.num_classes,
                "embed_initializer": keras.initializers.serialize(
                    self.embed_initializer
                ),
            }
        )
        return config
