import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.ops.resize import area_resize, crop_and_resize, resize_images


@pytest.mark.parametrize("size", [(2, 2), (3, 5), (4, 4), (7, 3)])
def test_area_resize_equals_tensorflow(size):
    images = np.random.default_rng(0).normal(size=(2, 8, 10, 3)).astype("float32")
    expected = tf.image.resize(images, size, method="area").numpy()
    np.testing.assert_allclose(area_resize(images, size), expected, atol=1e-5)


def test_resize_images_is_an_identity_at_the_same_size():
    images = np.ones((1, 4, 4, 2), "float32")
    assert resize_images(images, (4, 4)) is images


def test_crop_and_resize_equals_tensorflow_inside_and_outside_the_image():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(5, 9, 11, 3)).astype("float32")
    corner = rng.uniform(-0.3, 0.7, size=(5, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(0.1, 0.8, (5, 2))], 1)
    boxes = boxes.astype("float32")
    for crop in [(6, 7), (1, 4), (9, 11)]:
        expected = tf.image.crop_and_resize(images, boxes, tf.range(5), crop).numpy()
        np.testing.assert_allclose(
            crop_and_resize(images, boxes, crop), expected, atol=1e-5
        )
