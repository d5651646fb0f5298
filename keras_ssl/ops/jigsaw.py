"""Jigsaw puzzles: tiles with gaps and jitter, permutation sets, reassembly.

Used by Jigsaw (Noroozi & Favaro 2016) and DeepPermNet (Santa Cruz et al.
2017). Conventions: tiles are numbered in reading order of their grid cells;
a permutation `p` shuffles tiles so that position `i` of the puzzle holds the
original tile `p[i]`; its permutation matrix has `P[i, p[i]] = 1`.
"""

import functools
import itertools
import math

import keras
import numpy as np
from keras import ops

from keras_ssl.ops.patches import _static_hw, crop_patches, split_seed


def jigsaw_tile_size(image_size, grid=3, gap=0, jitter=0):
    """Side of the tiles that `jigsaw_tiles` cuts, with a clear error if none fit.

    Each of the `grid` x `grid` cells is `min(H, W) // grid` pixels wide; a
    tile is a cell minus `gap` and `jitter` pixels.

    Example:

    >>> jigsaw_tile_size((32, 32), grid=3, gap=1, jitter=1)
    8
    """
    for name, value, low in (("grid", grid, 1), ("gap", gap, 0), ("jitter", jitter, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(
                f"{name} must be an int >= {low}. Received: {name}={value}"
            )
    cell = min(image_size) // grid
    tile = cell - gap - jitter
    if tile < 1:
        raise ValueError(
            f"Images are too small for a {grid}x{grid} tile grid with gap={gap} "
            f"and jitter={jitter}: cells are {cell} pixels, which leaves no "
            f"tile. Received: image size={tuple(image_size)}"
        )
    return tile


def jigsaw_tiles(images, grid=3, gap=0, jitter=0, random=True, seed=None):
    """Cut every image into `grid` x `grid` square tiles with gaps and jitter.

    The grid is centred in the image; cells are `min(H, W) // grid` pixels.
    Inside its cell each tile moves by an independent random shift in
    [0, `jitter`] along each axis (`jitter // 2` when not `random`), so
    neighbouring tiles are always at least `gap` pixels apart and never share
    an edge that could give the puzzle away (Noroozi & Favaro cut 64-pixel
    tiles at random places inside 85-pixel cells). With `gap=0` and
    `jitter=0` the tiles reassemble exactly into the centred
    `grid * cell` square (see `assemble_tiles`).

    Args:
        images: (B, H, W, C) images with static H and W.
        grid: tiles per side (3 gives the 9-tile puzzle).
        gap: minimum pixels between neighbouring tiles.
        jitter: maximum random shift of a tile inside its cell.
        random: False for deterministic centred tiles.
        seed: int or `keras.random.SeedGenerator`.

    Returns:
        (B, grid * grid, tile, tile, C) tiles in reading order, where
        `tile = jigsaw_tile_size((H, W), grid, gap, jitter)`.

    Example:

    >>> import numpy as np
    >>> tiles = jigsaw_tiles(np.zeros((2, 32, 32, 3), "float32"), 3, 1, 1, seed=0)
    >>> tuple(tiles.shape)
    (2, 9, 8, 8, 3)
    """
    height, width = _static_hw(images, "jigsaw_tiles")
    tile = jigsaw_tile_size((height, width), grid, gap, jitter)
    cell = min(height, width) // grid
    batch = ops.shape(images)[0]
    count = grid * grid
    if random and jitter > 0:
        seeds = split_seed(seed, 2)
        shift_y = keras.random.randint(
            (batch, count), 0, jitter + 1, dtype="int32", seed=seeds[0]
        )
        shift_x = keras.random.randint(
            (batch, count), 0, jitter + 1, dtype="int32", seed=seeds[1]
        )
    else:
        shift_y = ops.full((batch, count), jitter // 2, dtype="int32")
        shift_x = shift_y
    cell_index = np.arange(count)
    base_y = (height - grid * cell) // 2 + (cell_index // grid) * cell + gap // 2
    base_x = (width - grid * cell) // 2 + (cell_index % grid) * cell + gap // 2
    top = ops.convert_to_tensor(base_y[None].astype("int32")) + shift_y
    left = ops.convert_to_tensor(base_x[None].astype("int32")) + shift_x
    return crop_patches(images, top, left, tile)


def assemble_tiles(tiles, grid=3):
    """Put (B, grid * grid, s, s, C) tiles back into (B, grid * s, grid * s, C).

    Tile `k` goes to row `k // grid`, column `k % grid`; the inverse of
    `jigsaw_tiles` with `gap=0` and `jitter=0`.

    Example:

    >>> import numpy as np
    >>> tuple(assemble_tiles(np.zeros((2, 9, 4, 4, 3)), grid=3).shape)
    (2, 12, 12, 3)
    """
    shape = tuple(tiles.shape)
    if len(shape) != 5 or shape[1] != grid * grid:
        raise ValueError(
            f"assemble_tiles expects tiles of shape (B, {grid * grid}, s, s, C) "
            f"for grid={grid}. Received: shape={shape}"
        )
    size, channels = shape[2], shape[4]
    x = ops.reshape(tiles, (-1, grid, grid, size, size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, grid * size, grid * size, channels))


def shuffle_tiles(tiles, permutations):
    """Reorder tiles: position `i` of image `b` gets tile `permutations[b, i]`.

    Args:
        tiles: (B, N, ...) tiles.
        permutations: int (B, N) permutations of 0..N-1.

    Example:

    >>> import numpy as np
    >>> tiles = np.arange(3, dtype="float32").reshape(1, 3)
    >>> np.asarray(shuffle_tiles(tiles, [[2, 0, 1]])).tolist()
    [[2.0, 0.0, 1.0]]
    """
    permutations = ops.cast(ops.convert_to_tensor(permutations), "int32")
    count = tiles.shape[1]
    batch = ops.shape(tiles)[0]
    flat = ops.reshape(tiles, (-1,) + tuple(tiles.shape[2:]))
    index = ops.arange(batch, dtype="int32")[:, None] * count + permutations
    return ops.take(flat, index, axis=0)


def inverse_permutation(permutations):
    """The inverse of each permutation in an int (..., N) tensor."""
    return ops.cast(ops.argsort(permutations, axis=-1), "int32")


def permutation_matrix(permutations, dtype="float32"):
    """(B, N) permutations -> (B, N, N) matrices with `P[b, i, p[b, i]] = 1`."""
    permutations = ops.cast(ops.convert_to_tensor(permutations), "int32")
    return ops.one_hot(permutations, permutations.shape[-1], dtype=dtype)


def normalize_tiles(tiles, epsilon=1e-3):
    """Standardise each tile and channel to zero mean and unit variance.

    Noroozi & Favaro normalise every tile on its own so that the network
    cannot match tiles by their low-level statistics (mean brightness,
    contrast) instead of their content.

    Args:
        tiles: (..., s, s, C) tiles.
        epsilon: added to the variance; flat tiles map to 0.
    """
    mean = ops.mean(tiles, axis=(-3, -2), keepdims=True)
    variance = ops.var(tiles, axis=(-3, -2), keepdims=True)
    return (tiles - mean) / ops.sqrt(variance + epsilon)


@functools.lru_cache(maxsize=16)
def _all_permutations(num_tiles):
    return np.array(list(itertools.permutations(range(num_tiles))), dtype="int8")


# Beyond 9 tiles the permutations are too many to enumerate; a random pool of
# candidates is searched instead.
_MAX_ENUMERATED_TILES = 9
_CANDIDATE_POOL = 200_000


PERMUTATION_CRITERIA = ("mean", "min")


@functools.lru_cache(maxsize=32)
def _permutation_set(num_tiles, num_permutations, seed, criterion="mean"):
    rng = np.random.default_rng(seed)
    if num_tiles <= _MAX_ENUMERATED_TILES:
        candidates = _all_permutations(num_tiles)
        candidates = candidates[rng.permutation(len(candidates))]
    else:
        candidates = np.argsort(rng.random((_CANDIDATE_POOL, num_tiles)), axis=1)
        candidates = np.unique(candidates, axis=0)
        candidates = candidates[rng.permutation(len(candidates))]
    chosen = [0]
    score = (candidates != candidates[0]).sum(axis=1).astype(np.int64)
    if criterion == "mean":
        score[0] = -1
    for _ in range(num_permutations - 1):
        # argmax takes the first maximum; candidates were shuffled with the
        # seed, so ties are broken at random but reproducibly.
        index = int(np.argmax(score))
        chosen.append(index)
        distance = (candidates != candidates[index]).sum(axis=1)
        if criterion == "min":
            # A chosen permutation is at distance 0 from itself: never again.
            np.minimum(score, distance, out=score)
        else:
            # The sum of distances to the chosen set ranks as their mean.
            score += distance
            score[chosen] = -1
    return candidates[chosen].astype("int32")


def permutation_set(num_tiles=9, num_permutations=100, seed=0, criterion="mean"):
    """Permutations chosen greedily for large Hamming distances between them.

    Noroozi & Favaro (2016), Algorithm 1 of the paper (and
    `select_permutations.m` of their code): start from a random permutation
    and repeatedly add the candidate whose Hamming distance to the
    permutations already chosen is largest *on average* (`criterion="mean"`,
    the default). `criterion="min"` maximises the *minimum* distance instead
    (greedy max-min), which guarantees a larger smallest gap between two
    puzzles. Every permutation of up to 9 tiles is a candidate (9! =
    362,880); for more tiles 200,000 random permutations are.

    The default set (9 tiles, 100 permutations, seed 0, mean) has a minimum
    pairwise Hamming distance of 2 and a mean of 8.08 (1000 permutations: 2
    and 8.01, the paper's Table 2 reports 2 and 8.00 for its set); with
    `criterion="min"` the minimum is 6 (1000 permutations: 5; 30: 7; 10: 8).

    Args:
        num_tiles: tiles per puzzle (9 for 3x3).
        num_permutations: size of the set, at most `num_tiles!`.
        seed: seed of the first permutation and of the tie-breaking.
        criterion: `"mean"` (Noroozi's: maximise the mean distance to the
            chosen set) or `"min"` (maximise the minimum distance).

    Returns:
        int32 NumPy array (num_permutations, num_tiles); row `k` is class `k`.

    Example:

    >>> perms = permutation_set(9, 10, seed=0)
    >>> perms.shape, sorted(perms[0].tolist()) == list(range(9))
    ((10, 9), True)
    """
    if not isinstance(num_tiles, int) or num_tiles < 2:
        raise ValueError(
            f"num_tiles must be an int >= 2. Received: num_tiles={num_tiles}"
        )
    possible = math.factorial(num_tiles)
    if (
        not isinstance(num_permutations, int)
        or num_permutations < 1
        or num_permutations > possible
    ):
        raise ValueError(
            f"num_permutations must be an int from 1 to {num_tiles}! = {possible}. "
            f"Received: num_permutations={num_permutations}"
        )
    if num_tiles > _MAX_ENUMERATED_TILES and num_permutations > _CANDIDATE_POOL // 2:
        raise ValueError(
            f"num_permutations must be at most {_CANDIDATE_POOL // 2} for more "
            f"than {_MAX_ENUMERATED_TILES} tiles. "
            f"Received: num_permutations={num_permutations}"
        )
    if criterion not in PERMUTATION_CRITERIA:
        raise ValueError(
            f"criterion must be one of {PERMUTATION_CRITERIA}. "
            f"Received: criterion={criterion!r}"
        )
    return _permutation_set(num_tiles, num_permutations, int(seed), criterion).copy()


def min_hamming_distance(permutations):
    """Smallest Hamming distance between two rows of a permutation set."""
    permutations = np.asarray(permutations)
    distances = (permutations[:, None, :] != permutations[None, :, :]).sum(-1)
    np.fill_diagonal(distances, permutations.shape[1] + 1)
    return int(distances.min())
