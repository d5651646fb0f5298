import math

import numpy as np
import pytest

from keras_ssl.ops import (
    assemble_tiles,
    inverse_permutation,
    jigsaw_tile_size,
    jigsaw_tiles,
    min_hamming_distance,
    normalize_tiles,
    permutation_matrix,
    permutation_set,
    shuffle_tiles,
)


def test_default_permutation_set_is_distinct_with_documented_min_hamming():
    perms = permutation_set()
    assert perms.shape == (100, 9) and perms.dtype == np.int32
    assert all(sorted(row) == list(range(9)) for row in perms.tolist())
    assert len({tuple(row) for row in perms.tolist()}) == 100
    # Documented in permutation_set: Noroozi's max-mean rule gives a mean
    # distance of 8.08 and a minimum of 2; the max-min option a minimum of 6.
    distances = (perms[:, None] != perms[None]).sum(-1)
    assert distances.sum() / (100 * 99) == pytest.approx(8.08, abs=0.005)
    assert min_hamming_distance(perms) == 2
    assert min_hamming_distance(permutation_set(criterion="min")) == 6


def test_mean_criterion_picks_the_farthest_on_average():
    perms = permutation_set(9, 12, 0, criterion="mean")
    from itertools import permutations

    candidates = np.array(list(permutations(range(9))))
    chosen = perms[:11]
    mean_distance = (candidates[:, None, :] != chosen[None]).sum(-1).mean(-1)
    # The 12th permutation has the largest mean distance to the first 11.
    best = mean_distance.max()
    assert (perms[11][None] != chosen).sum(-1).mean() == pytest.approx(best)
    with pytest.raises(ValueError, match="criterion"):
        permutation_set(criterion="max")


def test_permutation_set_is_deterministic_for_a_seed_and_greedy():
    np.testing.assert_array_equal(permutation_set(9, 30, 3), permutation_set(9, 30, 3))
    assert not np.array_equal(permutation_set(9, 30, 3), permutation_set(9, 30, 4))
    # A prefix of a greedy set is the smaller greedy set.
    for criterion in ("mean", "min"):
        np.testing.assert_array_equal(
            permutation_set(9, 30, 0, criterion)[:10],
            permutation_set(9, 10, 0, criterion),
        )
    # Max-min: better spread than random permutations (minimum ~2).
    assert min_hamming_distance(permutation_set(9, 30, 0, criterion="min")) >= 7


def test_all_permutations_of_few_tiles():
    perms = permutation_set(num_tiles=4, num_permutations=24, seed=1)
    assert len({tuple(row) for row in perms.tolist()}) == math.factorial(4)


def test_permutation_set_too_large_is_a_clear_error():
    with pytest.raises(ValueError, match=r"4! = 24. Received: num_permutations=25"):
        permutation_set(num_tiles=4, num_permutations=25)
    with pytest.raises(ValueError, match="num_tiles"):
        permutation_set(num_tiles=1)


@pytest.mark.parametrize("size, grid", [(30, 3), (24, 2), (32, 3)])
def test_tiles_reassemble_into_the_image(size, grid):
    images = np.random.default_rng(0).normal(size=(2, size, size, 3)).astype("float32")
    tiles = jigsaw_tiles(images, grid=grid, gap=0, jitter=0)
    cell = size // grid
    start = (size - grid * cell) // 2
    expected = images[:, start : start + grid * cell, start : start + grid * cell]
    np.testing.assert_array_equal(np.asarray(assemble_tiles(tiles, grid)), expected)


def test_shuffled_tiles_reassemble_after_the_inverse_permutation():
    images = np.random.default_rng(0).normal(size=(3, 30, 30, 1)).astype("float32")
    tiles = jigsaw_tiles(images, 3, 0, 0)
    perms = permutation_set(9, 3, seed=0)
    shuffled = np.asarray(shuffle_tiles(tiles, perms))
    for b in range(3):
        for i in range(9):
            np.testing.assert_array_equal(
                shuffled[b, i], np.asarray(tiles)[b, perms[b, i]]
            )
    restored = shuffle_tiles(shuffled, inverse_permutation(perms))
    np.testing.assert_array_equal(np.asarray(assemble_tiles(restored)), images)
    matrices = np.asarray(permutation_matrix(perms))
    np.testing.assert_array_equal(matrices.sum(1), 1)
    np.testing.assert_array_equal(matrices.sum(2), 1)
    assert all(matrices[b, i, perms[b, i]] == 1 for b in range(3) for i in range(9))


def test_gap_and_jitter_keep_tiles_inside_their_cells():
    # Pixel values encode their own coordinates, so each tile tells where it
    # was cut.
    size, gap, jitter = 32, 2, 2
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([rows, cols], -1).astype("float32")[None].repeat(16, 0)
    tiles = np.asarray(jigsaw_tiles(image, 3, gap, jitter, seed=0))
    tile = jigsaw_tile_size((size, size), 3, gap, jitter)
    assert tiles.shape == (16, 9, tile, tile, 2) and tile == 6
    tops, lefts = tiles[:, :, 0, 0, 0], tiles[:, :, 0, 0, 1]
    cell, start = size // 3, (size - 3 * (size // 3)) // 2
    cell_top = start + (np.arange(9) // 3) * cell + gap // 2
    cell_left = start + (np.arange(9) % 3) * cell + gap // 2
    assert ((tops - cell_top >= 0) & (tops - cell_top <= jitter)).all()
    assert ((lefts - cell_left >= 0) & (lefts - cell_left <= jitter)).all()
    assert len(np.unique(tops - cell_top)) == jitter + 1  # the jitter is random
    horizontal_gaps = lefts[:, [1, 2, 4, 5, 7, 8]] - lefts[:, [0, 1, 3, 4, 6, 7]] - tile
    assert horizontal_gaps.min() >= gap
    expected_rows = tops[..., None, None] + np.arange(tile)[:, None]
    np.testing.assert_array_equal(
        tiles[..., 0], np.broadcast_to(expected_rows, tiles.shape[:-1])
    )


def test_too_small_for_the_grid_is_a_clear_error():
    with pytest.raises(ValueError, match="too small for a 3x3 tile grid"):
        jigsaw_tile_size((8, 8), grid=3, gap=2, jitter=1)


def test_normalize_tiles_standardises_each_tile():
    tiles = np.random.default_rng(0).normal(3.0, 5.0, size=(2, 9, 8, 8, 3))
    out = np.asarray(normalize_tiles(tiles.astype("float32")))
    np.testing.assert_allclose(out.mean(axis=(2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(2, 3)), 1, atol=1e-3)
