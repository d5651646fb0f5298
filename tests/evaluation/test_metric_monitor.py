import csv
import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_ssl.evaluation import FeatureStatistics, MetricMonitor, compute_statistics

TARGET = np.array([0.5, -0.3, 0.2], np.float32)


def extractor(images):
    images = np.asarray(images)
    return np.concatenate(
        [images.mean(axis=(1, 2)), images[:, ::2, ::2, :].reshape(len(images), -1)],
        axis=1,
    )


class ShiftGenerator(keras.Model):
    """A one-parameter generator, noise + shift, fitted to a target colour."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shift = self.add_weight(shape=(3,), initializer="zeros", name="shift")

    def call(self, x):
        return ops.zeros_like(x) + self.shift

    def generate(self, n, seed=None):
        noise = np.random.default_rng(seed).normal(size=(n, 4, 4, 3)) * 0.1
        images = noise + self.shift.numpy()
        return np.clip(images, -1, 1).astype(np.float32)


def _reference(n=400):
    noise = np.random.default_rng(0).normal(size=(n, 4, 4, 3)) * 0.1
    return np.clip(noise + TARGET, -1, 1).astype(np.float32)


def _fit(model, callbacks, epochs):
    x = np.zeros((64, 3), np.float32)
    y = np.tile(TARGET, (64, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model.fit(x, y, batch_size=16, epochs=epochs, callbacks=callbacks, verbose=0)


def test_fid_and_kid_are_logged_and_fall_as_the_generator_learns(tmp_path):
    model = ShiftGenerator()
    monitor = MetricMonitor(
        _reference(),
        extractor,
        every=2,
        num_samples=200,
        batch_size=64,
        kid_subsets=10,
    )
    log = tmp_path / "log.csv"
    history = _fit(model, [monitor, keras.callbacks.CSVLogger(str(log))], epochs=5)
    fids = history.history["fid"]
    assert len(fids) == 5
    assert math.isnan(fids[0]) and math.isnan(fids[2])
    # Epochs 2, 4 and the last one are evaluated.
    assert fids[1] > fids[3] > fids[4] >= 0
    kids = history.history["kid"]
    assert kids[1] > kids[4]
    rows = list(csv.DictReader(log.open()))
    assert float(rows[1]["fid"]) == pytest.approx(fids[1])


def test_fixed_noise_makes_the_value_reproducible():
    model = ShiftGenerator()
    stats = compute_statistics(
        _reference(), extractor, keep_features=300, verbose=False
    )
    monitor = MetricMonitor(
        stats, extractor, num_samples=100, batch_size=30, kid_subsets=5
    )
    monitor.set_model(model)
    monitor.on_train_begin()
    first, second = monitor.compute(), monitor.compute()
    assert first == second
    assert set(first) == {"fid", "kid", "kid_std"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="every.*every=0"):
        MetricMonitor(_reference(), extractor, every=0)
    with pytest.raises(ValueError, match="metrics.*'is'"):
        MetricMonitor(_reference(), extractor, metrics=("fid", "is"))
    stats = FeatureStatistics().update(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="keep_features"):
        MetricMonitor(stats, extractor)
    MetricMonitor(stats, extractor, metrics="fid")
    monitor = MetricMonitor(stats, extractor, metrics="fid")
    monitor.set_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)]))
    with pytest.raises(TypeError, match="generate"):
        monitor.on_train_begin()
