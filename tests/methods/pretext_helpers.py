"""Fixtures shared by the tests of the pretext-task methods."""

import numpy as np

from keras_ssl import data
from tests.helpers import assert_keras_round_trip, cifar10_path


def cifar(limit, batch_size, seed=0, labeled=True):
    """A repeating, shuffled subset of the real CIFAR-10 test images (32x32)."""
    return data.load(
        cifar10_path("test"),
        split="test",
        image_size=32,
        batch_size=batch_size,
        limit=limit,
        seed=seed,
        shuffle=True,
        repeat=True,
        labeled=labeled,
    )


def random_images(count, size=32, channels=3):
    """Fresh uniform images in [-1, 1]."""
    shape = (count, size, size, channels)
    return np.random.default_rng().uniform(-1, 1, shape).astype("float32")


def fit_briefly(model, dataset, steps, optimizer=None):
    """Compile `model` (its default optimizer unless given) and fit `steps`."""
    model.compile(optimizer=optimizer)
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return model, history


def assert_logs_finite_metrics(history, accuracies=("pretext_accuracy",)):
    logs = history.history
    assert np.isfinite(logs["pretext_loss"][-1]), logs
    for name in accuracies:
        assert 0.0 <= logs[name][-1] <= 1.0, logs


def assert_round_trip(model, tmp_path, count=4):
    """`.keras` round trip with identical outputs; returns the restored model."""
    images = random_images(count)
    restored = assert_keras_round_trip(model, inputs=images, tmp_path=tmp_path)
    assert type(restored) is type(model)
    # Training resumes where it stopped: the optimizer and its state load too.
    assert type(restored.optimizer) is type(model.optimizer)
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations)
    return restored
