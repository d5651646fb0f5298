import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.ops import (
    central_square_mask,
    dilate_mask,
    make_masks,
    random_region_masks,
    random_square_masks,
)


def _np(x):
    return np.asarray(x)


def test_central_square_removes_the_centre_quarter():
    mask = _np(central_square_mask(3, 32))
    assert mask.shape == (3, 32, 32, 1)
    assert set(np.unique(mask)) == {0.0, 1.0}
    np.testing.assert_allclose(mask.mean(axis=(1, 2, 3)), 0.25)
    np.testing.assert_array_equal(mask[0, 8:24, 8:24, 0], 1.0)
    assert mask[0, :8].sum() == 0 and mask[0, 24:].sum() == 0


def test_central_square_of_a_given_size_on_a_rectangle():
    mask = _np(central_square_mask(1, (10, 20), mask_size=4))[0, :, :, 0]
    rows, columns = np.nonzero(mask)
    assert (rows.min(), rows.max(), columns.min(), columns.max()) == (3, 6, 8, 11)


def test_random_squares_cover_at_most_their_total_area_and_vary():
    masks = _np(random_square_masks(64, 32, square_size=8, num_squares=4, seed=3))
    covered = masks.mean(axis=(1, 2, 3))
    # One square at least, four non-overlapping squares at most (25%).
    assert covered.min() >= 64 / 1024 and covered.max() <= 0.25
    assert covered.max() > covered.min()
    assert not np.array_equal(masks[0], masks[1])
    again = _np(random_square_masks(64, 32, square_size=8, num_squares=4, seed=3))
    np.testing.assert_array_equal(masks, again)


def test_random_regions_cover_the_documented_fraction():
    masks = _np(random_region_masks(128, 32, seed=0))
    covered = masks.mean(axis=(1, 2, 3))
    # Exactly round(c * H * W) pixels for c ~ U(0.2, 0.3).
    assert covered.min() >= 0.2 - 1.0 / 1024
    assert covered.max() <= 0.3 + 1.0 / 1024
    assert covered.std() > 0.01  # the fraction itself is drawn per image
    assert abs(covered.mean() - 0.25) < 0.02
    masks = _np(random_region_masks(32, 32, coverage=(0.5, 0.5), seed=1))
    np.testing.assert_allclose(masks.mean(axis=(1, 2, 3)), 0.5, atol=1e-7)


def test_random_regions_are_smooth_blobs_not_scattered_pixels():
    mask = _np(random_region_masks(16, 32, seed=2))[..., 0]
    # Pixels whose right neighbour differs: a blob boundary is a small share of
    # the removed area; independent pixels at 25% would give about 37%.
    changes = np.mean(mask[:, :, 1:] != mask[:, :, :-1])
    assert changes < 0.1, changes


def test_dilation_grows_the_hole_by_the_border():
    mask = central_square_mask(1, 32, mask_size=8)
    grown = _np(dilate_mask(mask, 4))
    assert grown.sum() == 16 * 16
    np.testing.assert_array_equal(grown[0, 8:24, 8:24, 0], 1.0)
    np.testing.assert_array_equal(_np(dilate_mask(mask, 0)), _np(mask))


def test_masks_inside_a_traced_function_with_an_unknown_batch():
    @tf.function(input_signature=[tf.TensorSpec((None, 16, 16, 3))])
    def draw(images):
        batch = tf.shape(images)[0]
        return [
            make_masks(kind, batch, 16, seed=0)
            for kind in ("center", "squares", "regions")
        ]

    for mask in draw(tf.zeros((5, 16, 16, 3))):
        assert tuple(mask.shape) == (5, 16, 16, 1)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="kind"):
        make_masks("circle", 2, 16)
    with pytest.raises(ValueError, match="coverage"):
        random_region_masks(2, 16, coverage=(0.2,))
    with pytest.raises(ValueError, match="coverage"):
        random_region_masks(2, 16, coverage=(0.3, 1.0))
    with pytest.raises(ValueError, match="mask_size"):
        central_square_mask(2, 16, mask_size=17)
    with pytest.raises(ValueError, match="square_size"):
        random_square_masks(2, 16, square_size=0)
