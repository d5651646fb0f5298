import numpy as np
import tensorflow as tf

from keras_ssl.data import augment


def _image(seed=None):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(-1, 1, size=(16, 16, 3)).astype("float32"))


def test_flip_is_a_mirror_or_identity():
    image = _image()
    outputs = [augment.random_flip(image, [i, 0]).numpy() for i in range(20)]
    mirrored = image.numpy()[:, ::-1]
    assert all(
        np.array_equal(o, image.numpy()) or np.array_equal(o, mirrored) for o in outputs
    )
    assert any(np.array_equal(o, mirrored) for o in outputs)


def test_crop_with_padding_shifts_content_by_at_most_the_padding():
    image = _image()
    cropped = augment.random_crop_with_padding(image, [1, 2], padding=2).numpy()
    assert cropped.shape == (16, 16, 3)
    # The centre 12x12 of the original appears somewhere in the crop.
    centre = image.numpy()[2:14, 2:14]
    found = any(
        np.allclose(cropped[dy : dy + 12, dx : dx + 12], centre)
        for dy in range(5)
        for dx in range(5)
    )
    assert found


def test_color_jitter_and_grayscale_stay_in_range():
    image = _image()
    jittered = augment.color_jitter(image, [3, 4]).numpy()
    assert jittered.min() >= -1 and jittered.max() <= 1
    assert not np.allclose(jittered, image.numpy())
    grey = augment.random_grayscale(image, [0, 0], probability=1.0).numpy()
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-6)


def test_pipeline_is_deterministic_for_a_seed():
    pipeline = augment.get("crop,flip,color_jitter")
    image = _image()
    a = pipeline(image, tf.constant([5, 6], tf.int64)).numpy()
    b = pipeline(image, tf.constant([5, 6], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
