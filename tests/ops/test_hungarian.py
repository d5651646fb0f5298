import itertools

import numpy as np
import pytest

from keras_ssl.ops import hungarian_match


def _brute_force_best(scores):
    n = scores.shape[0]
    return max(
        itertools.permutations(range(n)),
        key=lambda p: sum(scores[i, p[i]] for i in range(n)),
    )


def test_finds_the_maximum_total_assignment():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(5, 6, 6))
    permutations, columns = hungarian_match(scores, return_indices=True)
    assert permutations.shape == (5, 6, 6) and permutations.dtype == np.float32
    assert columns.shape == (5, 6)
    np.testing.assert_array_equal(permutations.sum(axis=-1), 1.0)
    np.testing.assert_array_equal(permutations.sum(axis=-2), 1.0)
    for b in range(5):
        best = _brute_force_best(scores[b])
        np.testing.assert_array_equal(columns[b], best)
        np.testing.assert_array_equal(permutations[b], np.eye(6)[list(best)])


def test_single_matrix_and_tensor_input():
    import keras

    soft = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.3, 0.0, 0.7]], "float32")
    expected = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], "float32")
    np.testing.assert_array_equal(hungarian_match(soft), expected)
    np.testing.assert_array_equal(
        hungarian_match(keras.ops.convert_to_tensor(soft)), expected
    )


def test_recovers_a_permutation_from_a_noisy_one():
    rng = np.random.default_rng(1)
    order = rng.permutation(10)
    truth = np.eye(10)[order]
    noisy = 0.6 * truth + 0.4 * rng.uniform(size=(10, 10))
    permutation, columns = hungarian_match(noisy, return_indices=True)
    np.testing.assert_array_equal(permutation, truth)
    np.testing.assert_array_equal(columns, order)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(
        ValueError, match=r"square .* Received: matrix of shape \(3, 4\)"
    ):
        hungarian_match(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="shape"):
        hungarian_match(np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        hungarian_match(np.array([[0.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(TypeError, match="dtype"):
        hungarian_match(np.array([["a", "b"], ["c", "d"]]))
