"""Fixtures shared by the tests of the pretext-task methods."""

import numpy as np

from keras_ssl import data
from keras_ssl.architectures.nin import nin_encoder
from tests.helpers import assert_keras_round_trip, cifar10_images, cifar10_path


def cifar(limit, batch_size, seed=0, labeled=True, repeat=True):
    """A shuffled subset of the real CIFAR-10 test images (32x32), repeating
    unless `repeat=False` (then an epoch is the subset once)."""
    return data.load(
        cifar10_path("test"),
        split="test",
        image_size=32,
        batch_size=batch_size,
        limit=limit,
        seed=seed,
        shuffle=True,
        repeat=repeat,
        labeled=labeled,
    )


def small_encoder(size=32):
    """The methods' tests' NIN: 3 blocks of width 16 on (size, size, 3)."""
    return nin_encoder((size, size, 3), num_blocks=3, width=16)


def random_images(count, size=32, channels=3):
    """Fresh uniform images in [-1, 1]."""
    shape = (count, size, size, channels)
    return np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")


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


def short_run(model, epochs=6):
    """Held-out metrics of `model` before and after a short run.

    Fits 1024 CIFAR-10 training images (batch 32, `epochs` epochs) and
    evaluates 256 test images; returns `(before, after, test_images)`.
    """
    train = cifar10_images(1024, split="train", seed=0)
    test = cifar10_images(256, split="test", seed=1)
    before = model.evaluate(test, batch_size=64, verbose=0, return_dict=True)
    model.fit(train, batch_size=32, epochs=epochs, verbose=0)
    after = model.evaluate(test, batch_size=64, verbose=0, return_dict=True)
    print(before, after)
    return before, after, test
