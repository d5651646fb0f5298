import keras
import numpy as np
import pytest

from keras_ssl.data import load
from keras_ssl.methods import SSGAN, build_method, build_ssgan
from keras_ssl.methods.ssgan import rotate_quarter
from tests.helpers import run_method_test


@pytest.fixture(scope="module")
def digits():
    return load("digits", image_size=32, batch_size=16, limit=96, seed=0)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    keras.utils.set_random_seed(0)
    return run_method_test(
        "ssgan",
        {"image_size": 32, "channels": 1, "width": 4, "z_dim": 8, "seed": 0},
        digits,
        steps=6,
        epochs=3,
        tmp_path=tmp_path_factory.mktemp("ssgan"),
    )


def test_rotation_labels_match_the_rotated_images(digits):
    images, _ = next(iter(digits))
    images = np.asarray(images)
    rotated, labels = rotate_quarter(images)
    rotated, labels = np.asarray(rotated), np.asarray(labels)
    quarter = images[-4:]
    assert rotated.shape == images.shape
    for i, (image, label) in enumerate(zip(rotated, labels)):
        np.testing.assert_array_equal(image, np.rot90(quarter[i % 4], k=int(label)))
    assert sorted(np.bincount(labels).tolist()) == [4, 4, 4, 4]


def test_rotation_head_has_four_outputs_and_generator_is_self_modulated():
    gan = build_ssgan(32, width=4, z_dim=8)
    assert tuple(gan.discriminator.output["rotation_logits"].shape) == (None, 4)
    block = gan.generator.get_layer("block_1")
    assert type(block.norm_1).__name__ == "SelfModulatedBatchNormalization"
    assert (gan.alpha, gan.beta) == (0.2, 1.0)


def test_trains_on_real_images_and_learns_rotations(trained):
    _, history, _ = trained
    logs = history.history
    for name in ("d_loss", "g_loss", "d_rotation_loss", "g_rotation_loss"):
        assert np.all(np.isfinite(logs[name])), name
    # Sum pooling makes the first rotation logits large; the loss must fall.
    assert logs["d_rotation_loss"][-1] < 0.8 * logs["d_rotation_loss"][0]


def test_keras_round_trip_and_generate(trained):
    gan, _, restored = trained
    images = gan.generate(3, seed=7)
    assert images.dtype == np.uint8 and images.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(images, gan.generate(3, seed=7))
    assert isinstance(restored, SSGAN) and restored.alpha == 0.2
    np.testing.assert_array_equal(restored.generate(3, seed=7), images)


def test_bad_input_is_a_clear_error(digits):
    gan = build_ssgan(32, channels=1, width=4, z_dim=8, n_disc=2)
    gan.compile()
    # 16 images = 2 sub-batches of 8, each divisible by 4: fine; 6 is not.
    with pytest.raises(ValueError, match="divisible by 8 .*rotations.*batch_size=6"):
        gan.fit(np.zeros((12, 32, 32, 1), "float32"), batch_size=6, verbose=0)
    with pytest.raises(ValueError, match="rotation_logits"):
        SSGAN(gan.generator, build_method("gan", width=4, channels=1).discriminator)
    with pytest.raises(ValueError, match="alpha must be a number >= 0.*alpha=-1"):
        build_ssgan(32, width=4, alpha=-1)
