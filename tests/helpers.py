"""Shared test helpers and the test contracts every layer and method test uses.

- `run_layer_test(cls, init_kwargs, input_data, ...)`: config round trip,
  output shape, weight counts, gradients, a `.keras` round trip with
  identical outputs and, optionally, Keras' own layer contract
  (`run_keras_layer_test`).
- `run_method_test(builder_or_name, config, data, steps=2, ...)`: build, a few
  `model.fit` steps on real images with finite metrics, a `.keras` round trip
  with identical outputs and identical optimizer state.
- Data: `cifar10_path(split)`, `cifar10_images(n, size, split)`,
  `reference_path(*parts)`: fail under CI when the shared files are missing,
  skip otherwise.
"""

import contextlib
import functools
import os
import pathlib
import tempfile

import keras
import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
CIFAR10_DIR = SHARED_DIR / "data" / "cifar10-jpeg"
REFERENCE_DIR = SHARED_DIR / "reference"


def _missing(message):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def cifar10_path(split="test"):
    """Path of the shared CIFAR-10 JPEG archive for `split`.

    Fails (not skips) when the data is missing and `CI` is set, since CI must
    exercise the real-image paths.
    """
    path = CIFAR10_DIR / f"{split}.zip"
    if not path.exists():
        _missing(f"shared CIFAR-10 data not found at {path}")
    return str(path)


def reference_path(*parts):
    """A `pathlib.Path` under `../shared/reference/` (fails under CI if missing).

    `reference_path("compare_gan", "README.md")`; skips the test when the file
    is missing outside CI.
    """
    path = REFERENCE_DIR.joinpath(*parts)
    if not path.exists():
        _missing(f"shared reference file not found at {path}")
    return path


@functools.lru_cache(maxsize=8)
def _cifar10_arrays(n, size, split, seed):
    from keras_ssl import data

    return data.load_arrays(
        cifar10_path(split), split=split, image_size=size, limit=n, seed=seed
    )


def cifar10_images(n=16, size=32, split="test", seed=0, labels=False):
    """`n` real CIFAR-10 images, float32 (n, size, size, 3) in [-1, 1].

    A seeded subset of the shared archive (cached per process; a fresh copy
    is returned). With `labels=True`, returns `(images, labels)`.
    """
    images, classes = _cifar10_arrays(int(n), int(size), split, seed)
    if labels:
        return images.copy(), classes.copy()
    return images.copy()


def pass_elsewhere(request, reason):
    """Report the current test as passed without running its body.

    For tests whose real run happened in a fresh process (two logical CPU
    devices, exact mirrored comparisons): the subprocess's success is the
    test's result, so it reads as a pass, with `reason` in its report
    section "isolation" (`pytest -rA` shows it). Implemented by the
    `pytest_pyfunc_call` hook of `tests/conftest.py`.
    """
    request.node.passed_elsewhere = reason


# Prepended to a script run in a fresh process, it makes the script behave
# as on a machine where TensorFlow is not installed, and checks at exit that
# nothing imported it.
WITHOUT_TENSORFLOW = """
import atexit, importlib.abc, os, sys

class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, _NoTensorFlow())

@atexit.register
def _check_no_tensorflow():
    # An exception in an exit handler is only printed: exit with an error.
    if "tensorflow" in sys.modules:
        print("tensorflow was imported", file=sys.stderr, flush=True)
        os._exit(1)
"""


@contextlib.contextmanager
def floatx_scope(dtype):
    """Build and run Keras in `dtype` for the duration of the block.

    Keras keeps the global dtype policy apart from floatx: both are set and
    restored.
    """
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


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
        model = keras.Model(symbolic if len(symbolic) > 1 else symbolic[0], outputs)
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


# ---------------------------------------------------------------- layers
def run_layer_test(
    cls,
    init_kwargs,
    input_data,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    call_kwargs=None,
    run_training_check=True,
    run_keras_check=False,
    tmp_path=None,
    atol=1e-6,
):
    """The layer contract, in the manner of keras-hub's `run_layer_test`.

    Checks, for `layer = cls(**init_kwargs)` called on `input_data` (an
    array, or a list of arrays passed as positional inputs):
    - `get_config` names every constructor argument given and
      `from_config(get_config())` gives the same config;
    - the output shape (a tuple, or a structure of tuples for dict/list
      outputs) and the numbers of trainable / non-trainable weights;
    - every trainable weight gets a finite, non-None gradient of the sum of
      the outputs (`run_training_check`);
    - a `.keras` round trip with identical outputs;
    - Keras' own `run_layer_test` (`run_keras_check`; see
      `run_keras_layer_test`).

    Returns the layer, built.
    """
    call_kwargs = dict(call_kwargs or {})
    inputs = list(input_data) if isinstance(input_data, list | tuple) else [input_data]
    layer = cls(**init_kwargs)
    output = layer(*inputs, **call_kwargs)

    config = layer.get_config()
    missing = [key for key in init_kwargs if key not in config]
    assert not missing, f"{cls.__name__}.get_config() lacks {missing}"
    assert cls.from_config(config).get_config() == config

    if expected_output_shape is not None:
        shapes = keras.tree.map_structure(lambda t: tuple(keras.ops.shape(t)), output)
        assert shapes == expected_output_shape, (shapes, expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    if run_training_check and layer.trainable_weights:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            output = layer(*inputs, training=True, **call_kwargs)
            total = sum(
                keras.ops.sum(keras.ops.cast(t, "float32"))
                for t in keras.tree.flatten(output)
            )
        gradients = tape.gradient(total, layer.trainable_variables)
        for variable, gradient in zip(layer.trainable_variables, gradients):
            assert gradient is not None, f"no gradient for {variable.path}"
            assert np.all(np.isfinite(np.asarray(gradient))), variable.path
    assert_keras_round_trip(
        cls(**init_kwargs),
        inputs=inputs if len(inputs) > 1 else inputs[0],
        tmp_path=tmp_path,
        call_kwargs=call_kwargs,
        atol=atol,
    )
    if run_keras_check:
        run_keras_layer_test(
            cls,
            init_kwargs,
            input_data=inputs if len(inputs) > 1 else inputs[0],
            call_kwargs=call_kwargs or None,
        )
    return layer


def run_keras_layer_test(cls, init_kwargs, **kwargs):
    """Keras' own layer contract (`keras.src.testing.TestCase.run_layer_test`).

    It checks serialization, symbolic calls, `compute_output_spec`, training
    with `fit` and mixed precision. Keyword arguments go to Keras'
    `run_layer_test` (e.g. `input_shape`, `input_data`,
    `expected_output_shape`, `run_mixed_precision_check=False`).
    """
    from keras.src.testing import TestCase

    class _Contract(TestCase):
        def runTest(self):  # unittest requires a test method
            pass

    case = _Contract()
    case.setUp()
    try:
        case.run_layer_test(cls, init_kwargs, **kwargs)
    finally:
        case.tearDown()


# --------------------------------------------------------------- methods
def _as_dataset(data, batch_size, steps):
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        dataset = data
    else:
        dataset = tf.data.Dataset.from_tensor_slices(
            tuple(data) if isinstance(data, list | tuple) else data
        ).batch(batch_size or 8, drop_remainder=True)
    return dataset.repeat().take(steps)


def _first_images(dataset):
    element = next(iter(dataset))
    images = element[0] if isinstance(element, tuple | list) else element
    if isinstance(images, tuple | list):
        images = images[0]
    return np.asarray(images)


def _optimizer_state(model):
    from keras_ssl.training.checkpoint import find_optimizers

    return {
        name: [np.asarray(v) for v in optimizer.variables]
        for name, optimizer in find_optimizers(model).items()
    }


def run_method_test(
    builder_or_name,
    config,
    data,
    steps=2,
    epochs=1,
    batch_size=None,
    compile_kwargs=None,
    inputs=None,
    outputs=None,
    tmp_path=None,
    atol=1e-6,
):
    """The method contract: build, fit a few steps, `.keras` round trip.

    Args:
        builder_or_name: a registered method name or a `build_<method>`.
        config: keyword arguments of the builder.
        data: a `tf.data.Dataset` of training batches, or arrays
            (images, or `(images, labels)`) batched by `batch_size`.
        steps: `model.fit` steps per epoch (the data is repeated as needed).
        epochs: `model.fit` epochs (the history has one value per epoch).
        compile_kwargs: arguments of `model.compile()` (builders do not
            compile; the method's default optimizers are used otherwise).
        inputs: what the outputs are compared on after the round trip;
            defaults to the first batch of images.
        outputs: `fn(model, inputs)` giving the outputs to compare;
            defaults to `model(inputs, training=False)`.

    Checks that every logged metric is finite after each step, that the
    optimizers stepped, and that the restored model has the same type,
    config, outputs and optimizer state (slots and iterations).

    Returns `(model, history, restored)` for further checks (e.g. that a
    loss falls).
    """
    from keras_ssl.methods import build_method

    if isinstance(builder_or_name, str):
        model = build_method(builder_or_name, **config)
    else:
        model = builder_or_name(**config)
    assert isinstance(model, keras.Model), type(model)
    model.compile(**(compile_kwargs or {}))
    dataset = _as_dataset(data, batch_size, steps)
    history = model.fit(dataset, epochs=epochs, verbose=0)
    assert history.history, "fit logged no metrics"
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), f"{name} is not finite: {values}"
    state = _optimizer_state(model)
    assert state, f"{type(model).__name__} holds no optimizer after compile"
    for name, variables in state.items():
        iterations = int(np.asarray(variables[0]))
        assert iterations >= steps * epochs, f"{name} stepped {iterations} times"

    if inputs is None:
        inputs = _first_images(dataset)
    outputs = outputs or (lambda m, x: m(x, training=False))
    expected = outputs(model, inputs)
    directory = pathlib.Path(tmp_path or tempfile.mkdtemp())
    path = directory / f"{model.name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_config().keys() == model.get_config().keys()
    actual = outputs(restored, inputs)
    for e, a in zip(
        keras.tree.flatten(expected), keras.tree.flatten(actual), strict=True
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(e), keras.ops.convert_to_numpy(a), atol=atol
        )
    restored_state = _optimizer_state(restored)
    assert restored_state.keys() == state.keys()
    for name, variables in state.items():
        for before, after in zip(variables, restored_state[name], strict=True):
            np.testing.assert_allclose(before, after, atol=atol, err_msg=name)
    return model, history, restored
