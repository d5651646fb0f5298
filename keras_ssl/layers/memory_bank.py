import keras
from keras import ops

from keras_ssl.ops import l2_normalize
from keras_ssl.utils.validation import check_int


@keras.saving.register_keras_serializable(package="keras_ssl")
class MemoryBank(keras.layers.Layer):
    """A non-trainable bank of L2-normalised features, one row per example.

    Reference: Wu et al., "Unsupervised Feature Learning via Non-Parametric
    Instance Discrimination", CVPR 2018 (NPID), also used by Feng et al.,
    "Self-Supervised Representation Learning by Rotation Feature Decoupling",
    CVPR 2019. Row `i` holds a running average of the features of example `i`:

        bank[i] <- normalize(momentum * bank[i] + (1 - momentum) * feature)

    `call(indices)` reads rows; `update(features, indices)` writes them with an
    explicit `assign`, so the update is one visible op in a train step. Rows
    start as random unit vectors (the bank is a uniform noise source until
    every example has been seen once).

    Under a `tf.distribute` strategy every replica holds a copy of the bank.
    `update` must then receive the features and indices of the whole global
    batch (gathered across replicas by the train step), so that each replica
    computes the same new bank; the variable is created with aggregation
    `"only_first_replica"`, which makes the assignment legal in a replica
    context and copies the first replica's result to all copies, so they stay
    bit-identical even where the scatter of duplicate indices is not
    deterministic.

    Args:
        size: number of rows (the number of examples in the dataset).
        dim: feature dimension.
        momentum: weight of the old row in the update; NPID uses 0.5.
        seed: seed for the initial rows and for `sample_indices`.

    Example:

    >>> import numpy as np
    >>> bank = MemoryBank(size=10, dim=4)
    >>> rows = bank(np.array([0, 3]))
    >>> tuple(rows.shape)
    (2, 4)
    >>> bank.update(np.ones((2, 4), "float32"), np.array([0, 3]))
    >>> np.round(np.linalg.norm(np.asarray(bank(np.array([0]))), axis=-1), 4)
    array([1.], dtype=float32)
    """

    def __init__(self, size, dim, momentum=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        size = check_int(size, "size", context="MemoryBank")
        dim = check_int(dim, "dim", context="MemoryBank")
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(
                f"momentum must be in [0, 1). Received: momentum={momentum!r}"
            )
        self.size = size
        self.dim = dim
        self.momentum = float(momentum)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bank = self.add_weight(
            name="bank",
            shape=(size, dim),
            initializer=keras.initializers.RandomNormal(seed=seed),
            trainable=False,
            aggregation="only_first_replica",
        )
        self.bank.assign(l2_normalize(self.bank))
        self.built = True

    def call(self, indices):
        return ops.take(self.bank, ops.cast(indices, "int32"), axis=0)

    def update(self, features, indices):
        """Move rows `indices` towards `features` (B, dim) and re-normalise.

        Under a strategy, pass the global batch (all replicas' features and
        indices, e.g. from `all_gather`): the first replica's result is
        written to every copy, so rows it was not given would be lost.
        """
        indices = ops.cast(ops.reshape(indices, (-1,)), "int32")
        features = ops.cast(features, self.bank.dtype)
        old = ops.take(self.bank, indices, axis=0)
        new = l2_normalize(self.momentum * old + (1.0 - self.momentum) * features)
        self.bank.assign(
            ops.scatter_update(self.bank, ops.expand_dims(indices, -1), new)
        )

    def sample_indices(self, shape):
        """Uniformly drawn row indices of `shape`, the NPID noise distribution."""
        return keras.random.randint(
            shape, 0, self.size, dtype="int32", seed=self.seed_generator
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "dim": self.dim,
                "momentum": self.momentum,
                "seed": self.seed,
            }
        )
        return config
