import numpy as np
import pytest

from keras_ssl.ops import accuracy, correct_predictions, l2_normalize, with_static_shape


def test_l2_normalize_axis_and_zero_vectors():
    x = np.random.default_rng(0).normal(size=(3, 4, 5)).astype("float32")
    x[0, 0] = 0.0
    last = np.asarray(l2_normalize(x))
    np.testing.assert_allclose(np.linalg.norm(last[1:], axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(last[0, 0], 0.0)
    first = np.asarray(l2_normalize(x, axis=1))
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)


def test_accuracy_over_spatial_labels_of_any_integer_dtype():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 3, 7)).astype("float32")
    labels = logits.argmax(-1).astype("int64")
    labels[0, 0, 0] = (labels[0, 0, 0] + 1) % 7
    hits = np.asarray(correct_predictions(labels, logits))
    assert hits.shape == (2, 3, 3) and hits.sum() == 17
    assert float(accuracy(labels, logits)) == pytest.approx(17 / 18)


def test_with_static_shape_leaves_undecided_shapes_alone():
    images = np.zeros((6, 8, 8, 3), "float32")
    assert tuple(with_static_shape(images.reshape(2, 3, 8, 8, 3), (8, 8, 3)).shape) == (
        6,
        8,
        8,
        3,
    )
    assert with_static_shape(images, (None, None, 3)) is images
