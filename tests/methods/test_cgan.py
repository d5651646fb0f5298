import keras
import numpy as np
import pytest

from keras_ssl.data import load
from keras_ssl.methods import ConditionalGAN, build_cgan, build_method
from tests.helpers import cifar10_path


@pytest.fixture(scope="module")
def cifar():
    return load(cifar10_path("test"), split="test", batch_size=16, limit=64, seed=0)


@pytest.fixture(scope="module")
def trained(cifar):
    gan = build_method(
        "cgan", image_size=32, channels=3, num_classes=10, width=4, z_dim=8, seed=0
    )
    gan.compile()
    history = gan.fit(cifar, epochs=2, verbose=0)
    return gan, history


def test_trains_on_real_images_with_finite_losses(trained):
    _, history = trained
    for name in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(history.history[name])), name


def test_generated_images_depend_on_the_label(trained):
    gan, _ = trained
    images = gan.generate(4, labels=[1, 1, 1, 1], seed=0)
    assert images.dtype == np.uint8 and images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(images, gan.generate(4, labels=[1, 1, 1, 1], seed=0))
    other = gan.generate(4, labels=[2, 2, 2, 2], seed=0)
    assert not np.array_equal(images, other)


def test_keras_round_trip(trained, tmp_path):
    gan, _ = trained
    gan.save(tmp_path / "cgan.keras")
    restored = keras.saving.load_model(tmp_path / "cgan.keras")
    assert isinstance(restored, ConditionalGAN) and restored.num_classes == 10
    np.testing.assert_array_equal(
        restored.generate(3, labels=[0, 5, 9], seed=2),
        gan.generate(3, labels=[0, 5, 9], seed=2),
    )


def test_labels_are_required_before_training(trained, cifar):
    gan, _ = trained
    images_only = cifar.map(lambda images, labels: images)
    with pytest.raises(ValueError, match="needs class labels.*Received: images only"):
        gan.fit(images_only, epochs=1, verbose=0)
    unlabelled = cifar.map(lambda images, labels: (images, labels * 0 - 1))
    with pytest.raises(
        ValueError, match=r"labels in \[0, 10\).*Received: labels in \[-1"
    ):
        gan.fit(unlabelled, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="needs num_classes"):
        build_cgan(32, width=4)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        gan.generate(2, labels=[0, 10])
