"""Shared test helpers."""

import os
import pathlib

import keras
import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CIFAR10_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg"


def cifar10_path(split="test"):
    """Path of the shared CIFAR-10 JPEG archive for `split`.

    Fails (not skips) when the data is missing and `CI` is set, since CI must
    exercise the real-image paths.
    """
    path = CIFAR10_DIR / f"{split}.zip"
    if not path.exists():
        message = f"shared CIFAR-10 data not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


def random_inputs(shape, seed=None, dtype="float32"):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def assert_keras_round_trip(
    obj, inputs=None, input_shape=None, tmp_path=None, call_kwargs=None, atol=1e-6
):
    """Check that a layer or model survives `.keras` save/load unchanged.

    `inputs` is an array, or a list of arrays for multi-input layers; with
    `input_shape` a random float input is made. A layer is wrapped in a
    functional model so that the whole object graph (weights, config) is
    serialized. Outputs before and after must be identical.
    """
    import tempfile

    call_kwargs = call_kwargs or {}
    if inputs is None:
        inputs = random_inputs(input_shape)
    input_list = inputs if isinstance(inputs, list | tuple) else [inputs]
    if isinstance(obj, keras.Model):
        model = obj
        expected = model(inputs, **call_kwargs)
    else:
        symbolic = [
            keras.Input(shape=x.shape[1:], batch_size=x.shape[0], dtype=x.dtype)
            for x in input_list
        ]
        outputs = obj(*symbolic, **call_kwargs)
        model = keras.Model(symbolic, outputs)
        expected = model(input_list if len(input_list) > 1 else input_list[0])
    directory = tmp_path or pathlib.Path(tempfile.mkdtemp())
    path = pathlib.Path(directory) / "round_trip.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    if isinstance(obj, keras.Model):
        actual = restored(inputs, **call_kwargs)
    else:
        actual = restored(input_list if len(input_list) > 1 else input_list[0])
    for e, a in zip(
        keras.tree.flatten(expected), keras.tree.flatten(actual), strict=True
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(e), keras.ops.convert_to_numpy(a), atol=atol
        )
    return restored
