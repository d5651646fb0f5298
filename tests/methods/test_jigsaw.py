import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from keras_ssl.methods import Jigsaw, build_jigsaw, build_method
from keras_ssl.methods.jigsaw import random_grayscale
from keras_ssl.ops import jigsaw_tiles, normalize_tiles, permutation_set, shuffle_tiles
from tests.methods.pretext_helpers import (
    assert_logs_finite_metrics,
    assert_round_trip,
    cifar,
    fit_briefly,
    random_images,
)


def _small(**kwargs):
    config = dict(
        num_permutations=10,
        encoder_config={"width": 8, "num_blocks": 3},
        tile_units=16,
        hidden_units=32,
        seed=0,
    )
    config.update(kwargs)
    return build_jigsaw(32, **config)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    return fit_briefly(_small(), cifar(64, 8), 4)


def test_fit_on_real_images_logs_finite_metrics(trained):
    assert_logs_finite_metrics(trained[1])


def test_puzzles_are_tiles_shuffled_by_their_class(trained):
    model, _ = trained
    images = random_images(12)
    tiles, labels = model.puzzles(images, training=False)
    labels = np.asarray(labels)
    np.testing.assert_array_equal(labels, np.arange(12) % 10)
    perms = permutation_set(9, 10, seed=0)[labels]
    expected = normalize_tiles(
        shuffle_tiles(jigsaw_tiles(images, 3, 1, 1, False), perms)
    )
    np.testing.assert_allclose(np.asarray(tiles), np.asarray(expected), atol=1e-5)
    # Random puzzles cover the classes and every tile is standardised.
    tiles, labels = model.puzzles(images, training=True)
    assert set(np.asarray(labels).tolist()) <= set(range(10))
    np.testing.assert_allclose(np.asarray(tiles).mean(axis=(2, 3)), 0, atol=1e-4)


def test_random_grayscale_probability():
    images = random_images(400, size=4)
    out = np.asarray(random_grayscale(images, 0.66, seed=0))
    grey = np.isclose(out[..., 0], out[..., 1]).all(axis=(1, 2))
    assert 0.55 < grey.mean() < 0.77
    np.testing.assert_array_equal(out[~grey], images[~grey])


def test_round_trip(trained, tmp_path):
    model, _ = trained
    restored = assert_round_trip(model, tmp_path)
    np.testing.assert_array_equal(restored.permutations, model.permutations)


def test_registered_with_any_tile_encoder():
    model = build_method(
        "jigsaw",
        image_size=32,
        encoder="alexnet",
        num_permutations=5,
        encoder_config={"width_multiplier": 0.1},
        tile_units=8,
        hidden_units=8,
    )
    assert isinstance(model, Jigsaw) and model.tile_size == 8


def test_build_time_errors():
    with pytest.raises(ValueError, match="too small for a 3x3 tile grid"):
        build_jigsaw(8, gap=2, jitter=1)
    with pytest.raises(ValueError, match="num_permutations must be an int from 1 to"):
        _small(num_permutations=400_000)
    with pytest.raises(ValueError, match=r"must take inputs of shape \(8, 8, 3\)"):
        Jigsaw(nin_encoder((32, 32, 3), 3, width=4), image_size=32)
    inputs = keras.Input((8, 8, 3))
    with pytest.raises(ValueError, match="cannot be pooled"):
        Jigsaw(keras.Model(inputs, keras.layers.Reshape((2, 4, 8, 3))(inputs)))


@pytest.mark.slow
def test_pretext_accuracy_rises_well_above_chance():
    keras.utils.set_random_seed(1)
    model = _small(
        num_permutations=100,
        encoder_config={"width": 32, "num_blocks": 3},
        tile_units=64,
        hidden_units=128,
    )
    model.compile()
    history = model.fit(cifar(2048, 32), steps_per_epoch=100, epochs=4, verbose=0)
    # Chance is 1 / 100.
    assert history.history["pretext_accuracy"][-1] > 0.1, history.history
    results = model.evaluate(
        cifar(256, 64, seed=11), steps=4, verbose=0, return_dict=True
    )
    print("jigsaw pretext accuracy:", history.history, results)
    assert results["pretext_accuracy"] > 0.1, results


def test_trained_encoder_also_embeds_whole_images(trained):
    model, _ = trained
    images = random_images(2)
    assert model.encoder(images).shape[0] == 2
    assert model.pooling(model.encoder(images)).shape == (2, model.feature_dim)
