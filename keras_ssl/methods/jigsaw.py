"""Jigsaw puzzles: learning features by solving shuffled 3x3 tile puzzles.

Reference: Noroozi & Favaro, "Unsupervised Learning of Visual Representations
by Solving Jigsaw Puzzles", ECCV 2016.

Each image is cut into a 3x3 grid of tiles with gaps and random jitter
(`keras_ssl.ops.jigsaw_tiles`), the tiles are shuffled by a permutation
p_k drawn uniformly from a fixed set {p_1..p_K} chosen for large Hamming
distances (`keras_ssl.ops.permutation_set`), every tile is standardised on
its own, a shared (siamese) encoder f embeds each tile, a shared
fully-connected layer g maps each embedding, and a classifier h on the
concatenation predicts k:

    L = -1/B sum_b log softmax(h([g(f(t_{b,p_k(1)})), ..., g(f(t_{b,p_k(9)}))]))_k

Defaults vs the paper: Noroozi & Favaro take a 225-pixel crop, split it
into a 3x3 grid of 75-pixel cells and cut a random 64-pixel tile from each
(the 255-pixel crop with 85-pixel cells is the configuration of Kolesnikov,
Zhai & Beyer, "Revisiting Self-Supervised Visual Representation Learning",
CVPR 2019, not of the paper), with an AlexNet trunk. Here a 32-pixel image
gives 10-pixel cells and 8-pixel tiles (`gap=1`, `jitter=1`: neighbouring
tiles 1 to 3 pixels apart), the tile encoder is any `keras.Model` (default: a
narrow NIN) and the fully-connected sizes are smaller (`tile_units=256`,
`hidden_units=512` instead of 512 and 4096). The permutation set has 100
permutations (the paper's main setting) chosen by the paper's rule, the
largest mean Hamming distance to those already chosen
(`permutation_criterion="mean"`; `"min"`, greedy max-min, is an option).
Images are turned grey with probability 0.66 against colour shortcuts: that
value is Kolesnikov et al.'s configuration; Noroozi & Favaro fight shortcuts
with per-tile normalisation, gaps and jitter and mention grey images only as
an alternative, so `grayscale_probability=0` is closer to the paper.
Optimizer default: Adam 1e-3 (the paper used SGD 0.01).
"""

import keras
from keras import ops

from keras_ssl.methods.registry import register_method
from keras_ssl.methods.tile_task import TileTask, build_tile_encoder
from keras_ssl.ops.jigsaw import permutation_set


def random_grayscale(images, probability, seed=None):
    """Replace each RGB image by its luminance with the given probability."""
    if images.shape[-1] != 3 or probability <= 0:
        return images
    weights = ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=images.dtype)
    grey = ops.repeat(ops.sum(images * weights, axis=-1, keepdims=True), 3, -1)
    draw = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), seed=seed)
    return ops.where(draw < probability, grey, images)


@keras.saving.register_keras_serializable(package="keras_ssl")
class Jigsaw(TileTask):
    """Jigsaw puzzle solving (Noroozi & Favaro 2016) around any tile encoder.

    Args:
        encoder: a `keras.Model` from tiles (B, s, s, C) in [-1, 1] to a feature
            map or vector, shared by all tiles; exposed as `.encoder`. `s` is
            `keras_ssl.ops.jigsaw_tile_size(image_size, grid, gap, jitter)`.
        image_size: side (or (height, width)) of the input images.
        grid: tiles per side (3 in the paper).
        gap: minimum pixels between neighbouring tiles.
        jitter: maximum random shift of each tile inside its cell.
        num_permutations: size of the permutation set (the number of
            classes). The default set of 100 (seed 0, mean criterion) has a
            mean pairwise Hamming distance of 8.08 (minimum 2).
        permutation_seed: seed of `permutation_set`.
        permutation_criterion: `"mean"` (Noroozi's max-mean Hamming rule) or
            `"min"` (greedy max-min); see `keras_ssl.ops.permutation_set`.
        grayscale_probability: probability that an image is turned grey
            before tiling (0.66 in Kolesnikov et al.'s configuration; 0
            disables).
        tile_units: width of the shared per-tile fully-connected layer.
        hidden_units: width of the layer on the concatenated tiles.
        seed: seed of the random jitter, permutations and greyscale.
        **kwargs: `keras.Model` arguments.

    `call(images)` returns (B, num_permutations) logits for deterministic
    puzzles: centred tiles, image `b` shuffled with permutation
    `b % num_permutations`, no greyscale. `fit` takes images (labels ignored)
    and logs `pretext_loss` and `pretext_accuracy` (chance is
    1 / num_permutations).

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = Jigsaw(nin_encoder((8, 8, 3), 3, width=8), image_size=32,
    ...                num_permutations=10, tile_units=8, hidden_units=16)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> tuple(model(images[:2]).shape)
    (2, 10)
    """

    def __init__(
        self,
        encoder,
        image_size=32,
        grid=3,
        gap=1,
        jitter=1,
        num_permutations=100,
        permutation_seed=0,
        grayscale_probability=0.66,
        tile_units=256,
        hidden_units=512,
        seed=None,
        permutation_criterion="mean",
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
        self.num_permutations = num_permutations
        self.permutation_seed = permutation_seed
        self.permutation_criterion = permutation_criterion
        self.permutations = permutation_set(
            self.num_tiles, num_permutations, permutation_seed, permutation_criterion
        )
        if not 0.0 <= grayscale_probability <= 1.0:
            raise ValueError(
                "grayscale_probability must be in [0, 1]. "
                f"Received: grayscale_probability={grayscale_probability}"
            )
        self.grayscale_probability = float(grayscale_probability)
        self.classifier = keras.layers.Dense(num_permutations, name="classifier")
        self.classifier.build((None, self.hidden_units))

    @property
    def chance_accuracy(self):
        """1 / num_permutations."""
        return 1.0 / self.num_permutations

    def puzzles(self, images, training=False):
        """Shuffled, normalised tiles (B, N, s, s, C) and their class (B,).

        With `training`, tiles jitter, classes are uniform at random and
        images turn grey with `grayscale_probability`; otherwise the puzzles
        are the deterministic ones of `call`.
        """
        batch = ops.shape(images)[0]
        if training:
            images = random_grayscale(
                images, self.grayscale_probability, self.seed_generator
            )
            labels = keras.random.randint(
                (batch,),
                0,
                self.num_permutations,
                dtype="int32",
                seed=self.seed_generator,
            )
        else:
            labels = ops.arange(batch, dtype="int32") % self.num_permutations
        table = ops.convert_to_tensor(self.permutations, dtype="int32")
        permutations = ops.take(table, labels, axis=0)
        return self.shuffled_tiles(images, permutations, training), labels

    def puzzle_logits(self, tiles, training=False):
        """Permutation logits (B, K) of shuffled tiles (B, N, s, s, C)."""
        return self.classifier(self.joined_tiles(tiles, training=training))

    def call(self, inputs, training=False):
        tiles, _ = self.puzzles(self.batch_images(inputs))
        return self.puzzle_logits(tiles, training=training)

    def pretext_logs(self, images, training=False):
        """Permutation cross-entropy and accuracy on puzzles of the images."""
        tiles, labels = self.puzzles(images, training=training)
        logits = self.puzzle_logits(tiles, training=training)
        return {
            "pretext_loss": self.pretext_loss(logits, labels),
            "pretext_accuracy": self.pretext_accuracy(logits, labels),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_permutations": self.num_permutations,
                "permutation_seed": self.permutation_seed,
                "permutation_criterion": self.permutation_criterion,
                "grayscale_probability": self.grayscale_probability,
            }
        )
        return config


@register_method("jigsaw")
def build_jigsaw(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    grid=3,
    gap=1,
    jitter=1,
    num_permutations=100,
    permutation_seed=0,
    grayscale_probability=0.66,
    tile_units=256,
    hidden_units=512,
    seed=None,
    permutation_criterion="mean",
):
    """A Jigsaw model whose tile encoder is built for the tile size.

    `encoder` is a name (`"nin"`, `"alexnet"`, `"resnet18"`, ...; built with
    `encoder_config` for inputs of any size, so that `.encoder` embeds tiles
    during training and whole images afterwards) or a `keras.Model` taking
    (s, s, channels) tiles. The default NIN has 3 blocks of width 64. Other arguments as
    in `Jigsaw`.

    Example:

    >>> model = build_jigsaw(32, num_permutations=10,
    ...                      encoder_config={"width": 8, "num_blocks": 3})
    >>> model.tile_size, tuple(model.encoder.inputs[0].shape)
    (8, (None, None, None, 3))
    """
    size, encoder = build_tile_encoder(
        encoder, image_size, channels, grid, gap, jitter, encoder_config
    )
    return Jigsaw(
        encoder,
        image_size=size,
        grid=grid,
        gap=gap,
        jitter=jitter,
        num_permutations=num_permutations,
        permutation_seed=permutation_seed,
        grayscale_probability=grayscale_probability,
        tile_units=tile_units,
        hidden_units=hidden_units,
        seed=seed,
        permutation_criterion=permutation_criterion,
        name="jigsaw",
    )
