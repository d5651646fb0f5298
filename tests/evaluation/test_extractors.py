import json
import os

import keras
import numpy as np
import pytest

from keras_ssl import data
from keras_ssl.evaluation import (
    compute_statistics,
    default_cache_dir,
    domain_extractor,
    fid,
    inception_extractor,
    inception_score_of,
    train_domain_classifier,
)
from tests.helpers import cifar10_path

WIDTH = 8
# The settings of the module's classifier (and of its cache key).
TRAINING = {"epochs": 3, "width": WIDTH, "batch_size": 64, "seed": 1, "verbose": 0}


@pytest.fixture(scope="module")
def cifar():
    images, labels = data.load_arrays(
        cifar10_path("test"), split="test", limit=1600, seed=0
    )
    # The subset comes grouped by class; mix it before splitting.
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order], labels[order]


@pytest.fixture(scope="module")
def trained(cifar, tmp_path_factory):
    images, labels = cifar
    cache_dir = tmp_path_factory.mktemp("cache")
    model = train_domain_classifier(
        (images[:1000], labels[:1000]), cache_dir=cache_dir, **TRAINING
    )
    return model, cache_dir


def test_domain_classifier_learns_real_images(cifar, trained):
    images, labels = cifar
    model, _ = trained
    logits = model.predict(images[1000:], verbose=0)
    accuracy = np.mean(np.argmax(logits, axis=1) == labels[1000:])
    assert accuracy > 0.2  # chance is 0.1


def test_domain_classifier_is_cached_by_content(cifar, trained, monkeypatch):
    images, labels = cifar
    model, cache_dir = trained
    files = sorted(os.listdir(cache_dir))
    assert (
        len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".keras")
    )
    record = json.loads((cache_dir / files[0]).read_text())
    assert record["width"] == WIDTH and len(record["history"]["loss"]) == 3

    def no_training(*args, **kwargs):
        raise AssertionError("a cached classifier must not be trained again")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    order = np.random.default_rng(0).permutation(1000)
    # Same content in another order: the same cache entry.
    cached = train_domain_classifier(
        (images[:1000][order], labels[:1000][order]), cache_dir=cache_dir, **TRAINING
    )
    np.testing.assert_allclose(
        cached.predict(images[:64], verbose=0),
        model.predict(images[:64], verbose=0),
        atol=1e-5,
    )
    assert sorted(os.listdir(cache_dir)) == files


def test_fid_in_domain_features_orders_corruptions(cifar, trained):
    images, _ = cifar
    model, _ = trained
    extractor = domain_extractor(model)
    out = extractor.predict_on_batch(images[:5])
    assert out["features"].shape == (5, 4 * WIDTH)
    assert out["logits"].shape == (5, 10)
    stats = compute_statistics(images[1000:1300], extractor, verbose=False)
    real = images[1300:1600]
    rng = np.random.default_rng(0)
    values = [
        fid(
            np.clip(real + level * rng.normal(size=real.shape), -1, 1).astype(
                "float32"
            ),
            stats,
            extractor,
            verbose=False,
        )
        for level in (0.0, 0.3, 0.8)
    ]
    assert values[0] < values[1] < values[2]
    score, _ = inception_score_of(real, extractor, splits=2, verbose=False)
    assert 1.0 < score < 10.0


def test_inception_extractor_shapes_without_downloading():
    extractor = inception_extractor(weights=None)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    out = extractor.predict_on_batch(images)
    assert out["features"].shape == (2, 2048)
    assert out["logits"].shape == (2, 1000)
    assert np.all(out["features"] >= 0)  # pool features follow a ReLU


def test_inception_extractor_rejects_a_missing_weights_file(tmp_path):
    with pytest.raises(ValueError, match="weights.*Received: weights="):
        inception_extractor(weights=str(tmp_path / "missing.weights.h5"))


def test_default_cache_dir_follows_keras_ssl_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_SSL_HOME", str(tmp_path))
    assert default_cache_dir().startswith(str(tmp_path))
    monkeypatch.delenv("KERAS_SSL_HOME")
    assert default_cache_dir().startswith(
        os.path.join(os.path.expanduser("~"), ".keras", "keras_ssl")
    )


def test_domain_extractor_of_any_classifier():
    inputs = keras.Input((6, 6, 3))
    hidden = keras.layers.Dense(7, name="hidden")(keras.layers.Flatten()(inputs))
    outputs = keras.layers.Dense(4, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    out = domain_extractor(model).predict_on_batch(np.zeros((3, 6, 6, 3)))
    assert out["features"].shape == (3, 7) and out["logits"].shape == (3, 4)
    with pytest.raises(ValueError, match="layers.*nope"):
        domain_extractor(model, feature_layer="nope")
    with pytest.raises(TypeError, match="Keras model.*function"):
        domain_extractor(lambda x: x)


def test_domain_classifier_bad_data(tmp_path):
    images = np.zeros((8, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="labeled.*-1"):
        train_domain_classifier((images, -np.ones(8, int)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="labels.*shape \\(7,\\)"):
        train_domain_classifier((images, np.zeros(7, int)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="epochs.*epochs=0"):
        train_domain_classifier((images, np.zeros(8, int)), epochs=0)
    with pytest.raises(TypeError, match="train_data.*list"):
        train_domain_classifier([images])
