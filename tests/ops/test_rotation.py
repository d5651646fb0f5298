import numpy as np
import pytest

from keras_ssl.ops import rotate90, rotation_batch


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate90_matches_numpy(k):
    images = np.random.default_rng(0).normal(size=(3, 5, 5, 2)).astype("float32")
    expected = np.stack([np.rot90(image, k) for image in images])
    np.testing.assert_allclose(np.asarray(rotate90(images, k)), expected)


def test_rotation_batch_labels_match_rotations():
    images = np.random.default_rng(0).normal(size=(4, 6, 6, 3)).astype("float32")
    rotated, labels = rotation_batch(images)
    rotated, labels = np.asarray(rotated), np.asarray(labels)
    assert rotated.shape == (16, 6, 6, 3)
    for index in range(16):
        source = images[index % 4]
        np.testing.assert_allclose(rotated[index], np.rot90(source, labels[index]))


def test_rotation_batch_rejects_non_square():
    with pytest.raises(ValueError, match="square"):
        rotation_batch(np.zeros((2, 4, 6, 3), "float32"))


def test_rotation_batch_in_a_graph_with_unknown_spatial_size():
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3))])
    def rotate(images):
        return rotation_batch(images)

    images = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    rotated, labels = rotate(images)
    np.testing.assert_allclose(rotated.numpy()[2], np.rot90(images[0], 1))
    assert labels.numpy().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
