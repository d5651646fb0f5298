import keras
from keras import ops

from keras_ssl.utils.validation import check_int, check_number


@keras.saving.register_keras_serializable(package="keras_ssl")
class SinkhornNormalization(keras.layers.Layer):
    """Turns (B, N, N) scores into doubly-stochastic matrices by Sinkhorn.

    In the log domain, `x = scores / temperature`, then `n_iters` times
    `x -= logsumexp(x, axis=-1)` (rows) and `x -= logsumexp(x, axis=-2)`
    (columns), and the output is `exp(x)`: every column sums to 1 exactly
    and every row to 1 up to the convergence of the iterations. Working with
    logsumexp instead of dividing by sums keeps values and gradients finite at
    low temperatures (tested down to 0.05), where the matrix approaches a
    permutation. With `noise_factor > 0` and `training=True`, Gumbel noise
    `noise_factor * -log(-log(u + 1e-20) + 1e-20)` is added to the scores
    before dividing by the temperature (Gumbel-Sinkhorn); at inference the
    layer is deterministic. Use `keras_ssl.ops.hungarian_match` to turn the
    output into a hard permutation.

    References: Santa Cruz, Fernando, Cherian & Gould, "DeepPermNet: Visual
    Permutation Learning", CVPR 2017; Mena, Belanger, Linderman & Snoek,
    "Learning Latent Permutations with Gumbel-Sinkhorn Networks", ICLR 2018.

    Args:
        n_iters: number of row-and-column normalisation rounds (about 20
            suffice for N ~ 100; low temperatures need more).
        temperature: positive divisor of the scores; lower is closer to a
            permutation matrix.
        noise_factor: scale of the Gumbel noise added while training; 0
            disables it.
        seed: seed of the noise.

    Example:

    >>> import numpy as np
    >>> layer = SinkhornNormalization(n_iters=20)
    >>> p = layer(np.random.normal(size=(2, 4, 4)).astype("float32"))
    >>> bool(np.allclose(np.sum(p, axis=1), 1.0, atol=1e-4))
    True
    """

    def __init__(
        self, n_iters=20, temperature=1.0, noise_factor=0.0, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        where = "SinkhornNormalization"
        self.n_iters = check_int(n_iters, "n_iters", context=where)
        self.temperature = check_number(
            temperature, "temperature", minimum=0, exclusive_minimum=True, context=where
        )
        self.noise_factor = check_number(
            noise_factor, "noise_factor", minimum=0, context=where
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "SinkhornNormalization expects scores of rank 3 (B, N, N). "
                f"Received: input_shape={input_shape}"
            )
        rows, columns = input_shape[1], input_shape[2]
        if rows is not None and columns is not None and rows != columns:
            raise ValueError(
                "SinkhornNormalization expects square (B, N, N) scores. "
                f"Received: input_shape={input_shape}"
            )

    def call(self, inputs, training=None):
        # float32 even under mixed precision: the 1e-20 of the Gumbel noise
        # underflows in float16, and rounding errors add up over iterations.
        x = ops.cast(inputs, "float32")
        if training and self.noise_factor > 0:
            uniform = keras.random.uniform(
                ops.shape(x), dtype="float32", seed=self.seed_generator
            )
            gumbel = -ops.log(-ops.log(uniform + 1e-20) + 1e-20)
            x = x + self.noise_factor * gumbel
        x = x / self.temperature
        for _ in range(self.n_iters):
            x = x - ops.logsumexp(x, axis=-1, keepdims=True)
            x = x - ops.logsumexp(x, axis=-2, keepdims=True)
        return ops.cast(ops.exp(x), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "n_iters": self.n_iters,
                "temperature": self.temperature,
                "noise_factor": self.noise_factor,
                "seed": self.seed,
            }
        )
        return config
