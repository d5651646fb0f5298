import keras
from keras import ops

from keras_ssl.layers._labels import check_num_classes, labels_to_weights
from keras_ssl.layers._spectral import (
    check_singular_vector,
    is_left,
    spectral_sigma_any,
)


@keras.saving.register_keras_serializable(package="keras_ssl")
class ClassProjection(keras.layers.Layer):
    """Inner product of a learned class embedding with the features.

    The projection term of a class-conditional discriminator: `D(x, y) =
    psi(phi(x)) + <embed(y), phi(x)>`; this layer computes the second term,
    (B, 1). Soft or one-hot labels (B, K) mix the embedding rows (`labels @
    E`), which is how S3GAN feeds predicted labels of unlabelled images.

    Reference: Miyato & Koyama, "cGANs with Projection Discriminator", ICLR
    2018.

    Args:
        num_classes: number of classes K.
        use_spectral_norm: divide the (K, D) embedding matrix by its largest
            singular value (one power-iteration round per training call,
            gradient through sigma), as compare_gan's discriminators do.
        embeddings_initializer: initializer of the (K, D) embedding matrix.
        singular_vector: "right" ((1, D) power-iteration vector), "left"
            ((K, 1), compare_gan's default) or "auto" (the shorter one); see
            `SpectralNormalization`.
        update_at_inference: iterate and store the vector in inference calls
            too (compare_gan).

    Call arguments:
        features: (B, D) pooled discriminator features.
        labels: int class ids (B,) or float soft / one-hot labels (B, K).
        training: update the power-iteration vector when True (only with
            `use_spectral_norm`).

    Example:

    >>> import numpy as np
    >>> layer = ClassProjection(num_classes=10)
    >>> features = np.random.normal(size=(4, 128)).astype("float32")
    >>> tuple(layer(features, np.array([0, 1, 2, 3])).shape)
    (4, 1)
    """

    def __init__(
        self,
        num_classes,
        use_spectral_norm=False,
        embeddings_initializer="glorot_uniform",
        singular_vector="right",
        update_at_inference=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.singular_vector = check_singular_vector(singular_vector, "ClassProjection")
        self.update_at_inference = bool(update_at_inference)
        check_num_classes(num_classes, "ClassProjection")
        self.num_classes = int(num_classes)
        self.use_spectral_norm = bool(use_spectral_norm)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, features_shape, labels_shape=None):
        if len(features_shape) != 2 or features_shape[-1] is None:
            raise ValueError(
                "ClassProjection expects features of shape (B, D) with a known "
                f"D. Received: features_shape={features_shape}"
            )
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_classes, features_shape[-1]),
            initializer=self.embeddings_initializer,
        )
        if self.use_spectral_norm:
            self._left = is_left(
                self.num_classes, features_shape[-1], self.singular_vector
            )
            self.u = self.add_weight(
                name="u",
                shape=(self.num_classes, 1) if self._left else (1, features_shape[-1]),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
                trainable=False,
                autocast=False,
                aggregation="mean",
            )

    def embedding_matrix(self, training=False):
        """The (K, D) class embeddings, spectrally normalised if configured."""
        matrix = self.embeddings
        if not self.use_spectral_norm:
            return matrix
        update = training or self.update_at_inference
        sigma, u = spectral_sigma_any(
            ops.cast(matrix, "float32"), self.u.value, 1 if update else 0, self._left
        )
        if update:
            self.u.assign(u)
        return matrix / ops.cast(sigma, matrix.dtype)

    def call(self, features, labels, training=None):
        weights = labels_to_weights(
            labels, self.num_classes, self.compute_dtype, type(self).__name__
        )
        embedded = ops.matmul(weights, self.embedding_matrix(bool(training)))
        return ops.sum(embedded * features, axis=-1, keepdims=True)

    def compute_output_shape(self, features_shape, labels_shape=None):
        return (features_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "use_spectral_norm": self.use_spectral_norm,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
                "singular_vector": self.singular_vector,
                "update_at_inference": self.update_at_inference,
            }
        )
        return config
