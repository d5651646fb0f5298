"""DeepPermNet: predicting the permutation matrix of shuffled tiles.

Reference: Santa Cruz, Fernando, Cherian & Gould, "DeepPermNet: Visual
Permutation Learning", CVPR 2017.

The image is cut into N = 3x3 tiles with gaps and jitter as in Jigsaw, the
tiles are shuffled by a uniformly random permutation p (position i holds tile
p(i); its matrix P has P[i, p(i)] = 1), a shared encoder embeds each tile, a
network on the concatenated embeddings outputs an N x N score matrix X, and
Sinkhorn normalisation S = sinkhorn(X) makes it doubly stochastic. The loss
is the row-wise cross-entropy between the true and the predicted matrix:

    L = -1/(B N) sum_b sum_i sum_j P_b[i, j] log S_b[i, j]

(the paper also discusses an L2 loss; cross-entropy is used here because the
rows of S are distributions). At inference the Hungarian algorithm
(`keras_ssl.ops.hungarian_match`) turns S into a hard permutation;
`evaluate_permutations` reports the fraction of puzzles solved exactly
(`permutation_accuracy`) and of tiles placed correctly (`tile_accuracy`).
During `fit`/`evaluate` the in-graph metrics use the row-wise argmax of S
instead (`pretext_accuracy` per tile, `permutation_accuracy` per puzzle),
which can only be lower than or equal to the Hungarian numbers for
permutation accuracy.

Defaults vs the paper: permutations are drawn from all 9! (the paper also
samples freely); tiles of a 32-pixel image are 8 pixels (`gap=1`,
`jitter=1`); the tile encoder is any `keras.Model` (default a narrow NIN
instead of CaffeNet). Optimizer default: Adam 1e-3.

Sinkhorn: the authors' model applies a softmax to each row of X and then a
single Sinkhorn pass (normalise the rows, then the columns); that is
`sinkhorn_iterations=1` here (the first log-domain row step is the row
softmax, the row step of the pass is then a no-op, the column step divides
by the column sums). The default runs 20 log-domain iterations at
temperature 1 with no Gumbel noise. Reason for the default: after one pass
the columns sum to one but the rows do not, so S is not doubly stochastic
and the row-wise cross-entropy compares a permutation matrix with rows that
are not distributions; 20 iterations bring both sums close to one at a
negligible cost for 9x9 matrices. Pass `sinkhorn_iterations=1` to train as
the authors did.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_ssl.layers.sinkhorn_normalization import SinkhornNormalization
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.methods.tile_task import TileTask, build_tile_encoder
from keras_ssl.ops.hungarian import hungarian_match
from keras_ssl.ops.jigsaw import permutation_matrix, permutation_set

# Puzzles of `call`: image b is shuffled with row b % 16 of a fixed set.
_CALL_PERMUTATIONS = 16


@keras.saving.register_keras_serializable(package="keras_ssl")
class DeepPermNet(TileTask):
    """Permutation-matrix prediction with Sinkhorn normalisation.

    Reference: Santa Cruz et al., CVPR 2017.

    Args:
        encoder: a `keras.Model` from tiles (B, s, s, C) in [-1, 1] to a
            feature map or vector, shared by all tiles; exposed as `.encoder`.
            `s` is `keras_ssl.ops.jigsaw_tile_size(image_size, grid, gap,
            jitter)`.
        image_size: side (or (height, width)) of the input images.
        grid: tiles per side; N = grid * grid.
        gap: minimum pixels between neighbouring tiles.
        jitter: maximum random shift of each tile inside its cell.
        tile_units: width of the shared per-tile fully-connected layer.
        hidden_units: width of the layer on the concatenated tiles.
        sinkhorn_iterations: Sinkhorn iterations (20; 1 is the authors' row
            softmax plus a single row/column pass, see the module docstring).
        temperature: Sinkhorn temperature.
        noise_factor: Gumbel noise scale during training (0: none).
        seed: seed of the random permutations and jitter.
        **kwargs: `keras.Model` arguments.

    `call(images)` returns the (B, N, N) doubly-stochastic matrices for
    deterministic puzzles (centred tiles, image `b` shuffled with row
    `b % 16` of `permutation_set(N, 16, seed=0)`).

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = DeepPermNet(nin_encoder((8, 8, 3), 3, width=8), image_size=32,
    ...                     tile_units=8, hidden_units=16)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(model.evaluate_permutations(images))
    ['permutation_accuracy', 'tile_accuracy']
    """

    metric_names = PretextTask.metric_names + ("permutation_accuracy",)

    def __init__(
        self,
        encoder,
        image_size=32,
        grid=3,
        gap=1,
        jitter=1,
        tile_units=256,
        hidden_units=512,
        sinkhorn_iterations=20,
        temperature=1.0,
        noise_factor=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            encoder,
            image_size=image_size,
            grid=grid,
            gap=gap,
            jitter=jitter,
            tile_units=tile_units,
            hidden_units=hidden_units,
            seed=seed,
            **kwargs,
        )
        self.sinkhorn_iterations = sinkhorn_iterations
        self.temperature = temperature
        self.noise_factor = noise_factor
        n = self.num_tiles
        self.score_dense = keras.layers.Dense(n * n, name="score_dense")
        self.score_dense.build((None, self.hidden_units))
        self.sinkhorn = SinkhornNormalization(
            n_iters=sinkhorn_iterations,
            temperature=temperature,
            noise_factor=noise_factor,
            seed=seed,
            name="sinkhorn",
        )
        self.sinkhorn.build((None, n, n))
        count = min(_CALL_PERMUTATIONS, math.factorial(n))
        self.call_permutations = permutation_set(n, count, seed=0)

    @property
    def chance_accuracy(self):
        """1 / N: `pretext_accuracy` is per tile (N tiles)."""
        return 1.0 / self.num_tiles

    def random_permutations(self, batch):
        """Uniformly random permutations (B, N) of 0..N-1, in-graph."""
        noise = keras.random.uniform((batch, self.num_tiles), seed=self.seed_generator)
        return ops.cast(ops.argsort(noise, axis=-1), "int32")

    def puzzles(self, images, permutations=None, training=False):
        """Shuffled, normalised tiles (B, N, s, s, C) and their permutations."""
        batch = ops.shape(images)[0]
        if permutations is None:
            if training:
                permutations = self.random_permutations(batch)
            else:
                table = ops.convert_to_tensor(self.call_permutations, dtype="int32")
                index = ops.arange(batch, dtype="int32") % len(self.call_permutations)
                permutations = ops.take(table, index, axis=0)
        permutations = ops.cast(ops.convert_to_tensor(permutations), "int32")
        return self.shuffled_tiles(images, permutations, training), permutations

    def soft_permutations(self, tiles, training=False):
        """Doubly-stochastic (B, N, N) matrices of shuffled tiles."""
        n = self.num_tiles
        scores = self.score_dense(self.joined_tiles(tiles, training=training))
        return self.sinkhorn(ops.reshape(scores, (-1, n, n)), training=training)

    def call(self, inputs, training=False):
        tiles, _ = self.puzzles(self.batch_images(inputs))
        return self.soft_permutations(tiles, training=training)

    def pretext_loss(self, soft, permutations):
        """Row-wise cross-entropy between true and predicted permutation matrices."""
        target = permutation_matrix(permutations, dtype=soft.dtype)
        log_soft = ops.log(ops.maximum(soft, 1e-12))
        return -ops.mean(ops.sum(target * log_soft, axis=-1))

    def pretext_accuracy(self, soft, permutations):
        """(tile accuracy, permutation accuracy) of the row-wise argmax."""
        predicted = ops.cast(ops.argmax(soft, axis=-1), "int32")
        correct = ops.cast(ops.equal(predicted, permutations), "float32")
        return ops.mean(correct), ops.mean(ops.min(correct, axis=-1))

    def pretext_logs(self, images, training=False):
        """Loss, tile accuracy and permutation accuracy on random puzzles."""
        tiles, permutations = self.puzzles(
            images,
            permutations=self.random_permutations(ops.shape(images)[0]),
            training=training,
        )
        soft = self.soft_permutations(tiles, training=training)
        tile_accuracy, permutation_accuracy = self.pretext_accuracy(soft, permutations)
        return {
            "pretext_loss": self.pretext_loss(soft, permutations),
            "pretext_accuracy": tile_accuracy,
            "permutation_accuracy": permutation_accuracy,
        }

    def evaluate_permutations(self, data, steps=None, seed=0, batch_size=64):
        """Hungarian-decoded accuracies on random puzzles of `data`.

        Args:
            data: a NumPy array of images in [-1, 1], or an iterable of
                batches (images or `(images, labels)`), e.g. a `tf.data`
                dataset.
            steps: number of batches to use (all when None).
            seed: seed of the NumPy permutations, so results are repeatable.
            batch_size: batch size when `data` is an array.

        Returns:
            dict with `permutation_accuracy` (puzzles solved exactly) and
            `tile_accuracy` (tiles at the right position).
        """
        if isinstance(data, np.ndarray):
            data = [data[i : i + batch_size] for i in range(0, len(data), batch_size)]
        rng = np.random.default_rng(seed)
        solved = placed = count = 0
        for step, batch in enumerate(data):
            if steps is not None and step >= steps:
                break
            images = self.batch_images(batch)
            size = int(ops.shape(images)[0])
            truth = np.argsort(rng.random((size, self.num_tiles)), axis=1)
            tiles, _ = self.puzzles(images, permutations=truth, training=False)
            soft = ops.convert_to_numpy(self.soft_permutations(tiles, training=False))
            _, predicted = hungarian_match(soft, return_indices=True)
            correct = predicted == truth
            solved += int(correct.all(axis=1).sum())
            placed += int(correct.sum())
            count += size
        if count == 0:
            raise ValueError("evaluate_permutations received no images.")
        return {
            "permutation_accuracy": solved / count,
            "tile_accuracy": placed / (count * self.num_tiles),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sinkhorn_iterations": self.sinkhorn_iterations,
                "temperature": self.temperature,
                "noise_factor": self.noise_factor,
            }
        )
        return config


@register_method("deeppermnet")
def build_deeppermnet(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    grid=3,
    gap=1,
    jitter=1,
    tile_units=256,
    hidden_units=512,
    sinkhorn_iterations=20,
    temperature=1.0,
    noise_factor=0.0,
    seed=None,
):
    """A DeepPermNet whose tile encoder is built for the tile size.

    `encoder` is a name (`"nin"`, `"alexnet"`, `"resnet18"`, ...; built with
    `encoder_config` for inputs of any size, so that `.encoder` embeds tiles
    during training and whole images afterwards) or a `keras.Model` taking
    (s, s, channels) tiles. The default NIN has 3 blocks of width 64. Other arguments as
    in `DeepPermNet`.

    Example:

    >>> model = build_deeppermnet(32, encoder_config={"width": 8, "num_blocks": 3})
    >>> tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 9, 9)
    """
    size, encoder = build_tile_encoder(
        encoder, image_size, channels, grid, gap, jitter, encoder_config
    )
    return DeepPermNet(
        encoder,
        image_size=size,
        grid=grid,
        gap=gap,
        jitter=jitter,
        tile_units=tile_units,
        hidden_units=hidden_units,
        sinkhorn_iterations=sinkhorn_iterations,
        temperature=temperature,
        noise_factor=noise_factor,
        seed=seed,
        name="deeppermnet",
    )
