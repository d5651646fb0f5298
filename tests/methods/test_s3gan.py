import keras
import numpy as np
import pytest

from keras_ssl.data import load, load_arrays
from keras_ssl.methods import (
    S3GAN,
    build_s3gan,
    cluster_labels,
    mask_labels,
)
from tests.helpers import cifar10_path, run_method_test


@pytest.fixture(scope="module")
def cifar():
    return load(cifar10_path("test"), split="test", batch_size=16, limit=64, seed=0)


@pytest.fixture(scope="module")
def trained(cifar, tmp_path_factory):
    images, labels = next(iter(cifar))
    return run_method_test(
        "s3gan",
        {
            "image_size": 32,
            "channels": 3,
            "num_classes": 10,
            "labeled_fraction": 0.5,
            "width": 4,
            "z_dim": 8,
            "seed": 0,
        },
        cifar,
        steps=4,
        epochs=2,
        inputs=(np.asarray(images), np.asarray(labels)),
        tmp_path=tmp_path_factory.mktemp("s3gan"),
    )


def test_logs_the_class_and_rotation_terms(trained):
    _, history, _ = trained
    for name in ("d_class_loss", "d_rotation_loss", "d_class_accuracy"):
        assert name in history.history, name


def test_labelled_subset_has_the_fraction_and_is_reproducible():
    images, _ = load_arrays("digits", image_size=32)
    gan = build_s3gan(32, channels=1, num_classes=10, labeled_fraction=0.2, width=2)
    mask = np.asarray(gan.labeled_mask(images))
    assert 0.16 < mask.mean() < 0.24
    # Independent of batching and order: the decision is per image.
    halves = np.concatenate(
        [
            np.asarray(gan.labeled_mask(images[900:])),
            np.asarray(gan.labeled_mask(images[:900])),
        ]
    )
    np.testing.assert_array_equal(halves, np.concatenate([mask[900:], mask[:900]]))
    other = build_s3gan(
        32, channels=1, num_classes=10, labeled_fraction=0.2, labeled_seed=1, width=2
    )
    assert not np.array_equal(np.asarray(other.labeled_mask(images)), mask)


def test_prepare_labels_hides_the_unlabelled_ones():
    images, labels = load_arrays("digits", image_size=32, limit=200, seed=0)
    gan = build_s3gan(32, channels=1, num_classes=10, labeled_fraction=0.3, width=2)
    prepared = np.asarray(gan.prepare_labels(images, labels))
    mask = np.asarray(gan.labeled_mask(images))
    np.testing.assert_array_equal(prepared[mask], labels[mask])
    assert np.all(prepared[~mask] == -1)


def test_mask_labels_is_stratified_and_seeded():
    labels = np.repeat(np.arange(5), 20)
    masked = mask_labels(labels, 0.1, seed=3)
    assert np.bincount(masked[masked >= 0]).tolist() == [2] * 5
    np.testing.assert_array_equal(masked, mask_labels(labels, 0.1, seed=3))


def test_cluster_labels_recover_digit_classes():
    from sklearn.metrics import adjusted_rand_score

    images, labels = load_arrays("digits", image_size=8)
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    clusters = cluster_labels(encoder, images, num_clusters=10, seed=0)
    assert clusters.dtype == np.int32 and clusters.shape == labels.shape
    # k-means on raw digit pixels finds the classes far above chance (ARI 0).
    assert adjusted_rand_score(labels, clusters) > 0.4


def test_keras_round_trip_and_generate(trained):
    gan, _, restored = trained
    images = gan.generate(3, seed=1)
    assert images.dtype == np.uint8 and images.shape == (3, 32, 32, 3)
    assert isinstance(restored, S3GAN) and restored.labeled_fraction == 0.5
    np.testing.assert_array_equal(restored.generate(3, seed=1), images)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, "half"])
def test_labeled_fraction_outside_0_1_is_a_clear_error(fraction):
    with pytest.raises(
        ValueError, match=r"labeled_fraction must be a number in \(0, 1\]"
    ):
        build_s3gan(32, num_classes=10, labeled_fraction=fraction)


def test_labels_are_required(trained, cifar):
    gan, _, _ = trained
    with pytest.raises(ValueError, match="needs class labels"):
        gan.fit(cifar.map(lambda images, labels: images), epochs=1, verbose=0)
