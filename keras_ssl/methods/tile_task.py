"""What the tile-puzzle tasks share: tiles, their shuffling and a siamese trunk.

Jigsaw (Noroozi & Favaro 2016) and DeepPermNet (Santa Cruz et al. 2017)
both cut an image into a grid of tiles with gaps and jitter
(`keras_ssl.ops.jigsaw_tiles`), shuffle the tiles by a permutation,
standardise each tile, embed every tile with one shared encoder and a shared
fully-connected layer, and join the tile embeddings in a fully-connected
layer. They differ in the permutations they draw and in what they predict
from the joined embedding (a class among a fixed permutation set; a
doubly-stochastic matrix): each keeps that in its own module. `TileTask`
holds no paper's logic.
"""

import keras
from keras import ops

from keras_ssl.architectures.encoders import check_encoder_input
from keras_ssl.methods.pretext_task import (
    PretextTask,
    build_part_encoder,
    encoder_channels,
    image_size_pair,
)
from keras_ssl.ops.jigsaw import (
    jigsaw_tile_size,
    jigsaw_tiles,
    normalize_tiles,
    shuffle_tiles,
)
from keras_ssl.utils.validation import check_int


class TileTask(PretextTask):
    """Base class of the tile-puzzle tasks (Jigsaw, DeepPermNet).

    A subclass calls `super().__init__` with the tile geometry, adds its
    head on the `hidden_units`-wide joined embedding, and implements
    `pretext_logs` from:

    - `shuffled_tiles(images, permutations, training)`: tiles (B, N, s, s,
      C) of the images (random jitter in training), tile `permutations[b,
      i]` at position `i`, each standardised;
    - `joined_tiles(tiles, training)`: the (B, hidden_units) embedding of
      shuffled tiles: the shared encoder and its pooling on every tile, the
      shared `tile_dense` layer (ReLU), the concatenation in position order
      and `hidden_dense` (ReLU).

    Args:
        encoder: a `keras.Model` from tiles (B, s, s, C) in [-1, 1] to a
            feature map or vector, shared by all tiles; exposed as `.encoder`.
            `s` is `keras_ssl.ops.jigsaw_tile_size(image_size, grid, gap,
            jitter)`.
        image_size: side (or (height, width)) of the input images.
        grid: tiles per side; N = grid * grid tiles.
        gap: minimum pixels between neighbouring tiles.
        jitter: maximum random shift of each tile inside its cell.
        tile_units: width of the shared per-tile fully-connected layer.
        hidden_units: width of the layer on the concatenated tiles.
        seed: seed of the task's random draws (`self.seed_generator`).
        **kwargs: `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> task = TileTask(nin_encoder((8, 8, 3), 3, width=8), image_size=32,
    ...                 tile_units=4, hidden_units=6)
    >>> images = np.zeros((2, 32, 32, 3), "float32")
    >>> tiles = task.shuffled_tiles(images, np.tile(np.arange(9), (2, 1)))
    >>> tuple(tiles.shape), tuple(task.joined_tiles(tiles).shape)
    ((2, 9, 8, 8, 3), (2, 6))
    """

    def __init__(
        self,
        encoder,
        image_size=32,
        grid=3,
        gap=1,
        jitter=1,
        tile_units=256,
        hidden_units=512,
        seed=None,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        context = type(self).__name__
        self.image_size = image_size_pair(image_size)
        self.grid = grid
        self.gap = gap
        self.jitter = jitter
        self.tile_size = jigsaw_tile_size(self.image_size, grid, gap, jitter)
        self.num_tiles = grid * grid
        if self.num_tiles < 2:
            raise ValueError(
                f"grid must be at least 2 for a permutation task. Received: grid={grid}"
            )
        self.tile_units = check_int(tile_units, "tile_units", context=context)
        self.hidden_units = check_int(hidden_units, "hidden_units", context=context)
        self.seed = seed
        self.channels = encoder_channels(encoder)
        self.image_shape = self.image_size + (self.channels,)
        check_encoder_input(encoder, (self.tile_size, self.tile_size, self.channels))
        self.tile_dense = keras.layers.Dense(
            self.tile_units, activation="relu", name="tile_dense"
        )
        self.tile_dense.build((None, self.feature_dim))
        self.hidden_dense = keras.layers.Dense(
            self.hidden_units, activation="relu", name="hidden_dense"
        )
        self.hidden_dense.build((None, self.num_tiles * self.tile_units))
        self.seed_generator = keras.random.SeedGenerator(seed)

    def shuffled_tiles(self, images, permutations, training=False):
        """Standardised tiles (B, N, s, s, C), tile `permutations[b, i]` at `i`."""
        tiles = jigsaw_tiles(
            images,
            self.grid,
            self.gap,
            self.jitter,
            random=training,
            seed=self.seed_generator,
        )
        return normalize_tiles(shuffle_tiles(tiles, permutations))

    def joined_tiles(self, tiles, training=False):
        """(B, hidden_units) embedding of shuffled tiles (B, N, s, s, C)."""
        flat = ops.reshape(tiles, (-1,) + tuple(tiles.shape[2:]))
        features = self.tile_dense(self.features(flat, training=training))
        features = ops.reshape(features, (-1, self.num_tiles * self.tile_units))
        return self.hidden_dense(features)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": list(self.image_size),
                "grid": self.grid,
                "gap": self.gap,
                "jitter": self.jitter,
                "tile_units": self.tile_units,
                "hidden_units": self.hidden_units,
                "seed": self.seed,
            }
        )
        return config


def build_tile_encoder(encoder, image_size, channels, grid, gap, jitter, config):
    """`(image_size pair, tile encoder)` for a tile task's builder.

    A named encoder is built for inputs of any size (it embeds tiles during
    training and whole images afterwards); a `keras.Model` must take the
    tiles' shape. See `keras_ssl.methods.pretext_task.build_part_encoder`.
    """
    size = image_size_pair(image_size)
    tile = jigsaw_tile_size(size, grid, gap, jitter)
    return size, build_part_encoder(encoder, tile, channels, config)
