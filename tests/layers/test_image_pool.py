import numpy as np
import pytest

from keras_ssl.layers import ImagePool
from tests.helpers import run_layer_test


def _images(values):
    return np.asarray(values, "float32").reshape(-1, 1, 1, 1) * np.ones(
        (1, 2, 2, 1), "float32"
    )


def test_fills_first_then_returns_stored_images_half_the_time():
    pool = ImagePool(size=8, seed=0)
    first = _images(range(8))
    np.testing.assert_array_equal(np.asarray(pool(first, training=True)), first)
    stored = set(range(8))
    returned_stored = total = 0
    for step in range(150):
        new = _images([100 + 2 * step, 101 + 2 * step])
        out = np.asarray(pool(new, training=True))[:, 0, 0, 0]
        for got, sent in zip(out, new[:, 0, 0, 0]):
            total += 1
            if got != sent:
                # A swap hands back an image that was in the pool.
                assert got in stored
                returned_stored += 1
        stored = set(np.asarray(pool.images)[:, 0, 0, 0].tolist())
    rate = returned_stored / total
    # Binomial(300, 0.5): 0.5 +- 4.6 standard deviations.
    assert 0.37 < rate < 0.63, rate


def test_a_batch_that_fills_the_pool_never_returns_an_empty_slot():
    # 5 slots, 8 images: the last three are swapped (probability 1) for one
    # of the five just stored, never for a slot still holding zeros.
    pool = ImagePool(size=5, probability=1.0, seed=0)
    out = np.asarray(pool(_images(range(1, 9)), training=True))[:, 0, 0, 0]
    np.testing.assert_array_equal(out[:5], [1, 2, 3, 4, 5])
    assert set(out[5:].tolist()) <= {1, 2, 3, 4, 5}, out


def test_identity_in_inference_and_with_size_zero():
    x = _images([1, 2, 3])
    pool = ImagePool(size=2)
    np.testing.assert_array_equal(np.asarray(pool(x)), x)
    assert int(np.asarray(pool.count)) == 0
    np.testing.assert_array_equal(np.asarray(ImagePool(0)(x, training=True)), x)


def test_layer_contract():
    run_layer_test(
        ImagePool,
        {"size": 4, "probability": 0.5, "seed": 3},
        _images([1, 2]),
        expected_output_shape=(2, 2, 2, 1),
        expected_num_non_trainable_weights=2,
    )


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="size must be an int >= 0"):
        ImagePool(size=-1)
    with pytest.raises(ValueError, match="known H, W and C"):
        ImagePool().build((None, None, 4, 3))
