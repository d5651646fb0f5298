import numpy as np
import pytest

from keras_ssl.data import load
from keras_ssl.methods import ConditionalGAN, build_cgan
from tests.helpers import cifar10_path, run_method_test


@pytest.fixture(scope="module")
def cifar():
    return load(cifar10_path("test"), split="test", batch_size=16, limit=64, seed=0)


@pytest.fixture(scope="module")
def trained(cifar, tmp_path_factory):
    # Fit with finite losses, round trip with identical D outputs on
    # (images, labels) and identical optimizer state: the method contract.
    images, labels = next(iter(cifar))
    return run_method_test(
        "cgan",
        {"image_size": 32, "channels": 3, "num_classes": 10, "width": 4},
        cifar,
        steps=4,
        epochs=2,
        inputs=(np.asarray(images), np.asarray(labels)),
        tmp_path=tmp_path_factory.mktemp("cgan"),
    )


def test_generated_images_depend_on_the_label(trained):
    gan, _, _ = trained
    images = gan.generate(4, labels=[1, 1, 1, 1], seed=0)
    assert images.dtype == np.uint8 and images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(images, gan.generate(4, labels=[1, 1, 1, 1], seed=0))
    other = gan.generate(4, labels=[2, 2, 2, 2], seed=0)
    assert not np.array_equal(images, other)


def test_keras_round_trip_generates_the_same_images(trained):
    gan, _, restored = trained
    assert isinstance(restored, ConditionalGAN) and restored.num_classes == 10
    np.testing.assert_array_equal(
        restored.generate(3, labels=[0, 5, 9], seed=2),
        gan.generate(3, labels=[0, 5, 9], seed=2),
    )


def test_labels_are_required_before_training(trained, cifar):
    gan, _, _ = trained
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
