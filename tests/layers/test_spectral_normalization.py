import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import SpectralNormalization
from tests.helpers import REPO_ROOT, assert_keras_round_trip, random_inputs


def _top_singular_value(kernel):
    kernel = np.asarray(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def _converge(layer, x, calls=4):
    for _ in range(calls):
        layer(x, training=True)


@pytest.mark.parametrize(
    "make_layer, input_shape",
    [
        (lambda: keras.layers.Dense(6), (3, 9)),
        (lambda: keras.layers.Conv2D(5, 3, padding="same"), (2, 6, 6, 4)),
        (lambda: keras.layers.Conv2DTranspose(3, 4, strides=2), (2, 4, 4, 5)),
    ],
)
def test_normalized_kernel_has_top_singular_value_one(make_layer, input_shape):
    keras.utils.set_random_seed(0)
    layer = SpectralNormalization(make_layer(), power_iterations=50)
    x = random_inputs(input_shape, seed=0)
    layer(x)
    layer.layer.kernel.assign(layer.layer.kernel * 3.0)
    _converge(layer, x)
    raw = layer.layer.kernel.numpy()
    assert _top_singular_value(raw) > 1.5
    normalized = layer.normalized_kernel().numpy()
    np.testing.assert_allclose(_top_singular_value(normalized), 1.0, rtol=1e-3)
    np.testing.assert_allclose(normalized * _top_singular_value(raw), raw, rtol=1e-3)


@pytest.mark.parametrize(
    "make_layer, input_shape",
    [
        (lambda: keras.layers.Dense(6, activation="tanh"), (3, 9)),
        (lambda: keras.layers.Conv2D(5, 3, strides=2, padding="valid"), (2, 7, 7, 4)),
        (
            lambda: keras.layers.Conv2D(5, 3, dilation_rate=2, padding="same"),
            (2, 7, 7, 4),
        ),
        (
            lambda: keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
            (2, 4, 4, 5),
        ),
        (lambda: keras.layers.Conv1D(4, 3), (2, 8, 3)),
    ],
)
def test_output_is_the_wrapped_layer_with_the_normalized_kernel(
    make_layer, input_shape
):
    keras.utils.set_random_seed(0)
    layer = SpectralNormalization(make_layer())
    x = random_inputs(input_shape, seed=1)
    layer(x, training=True)
    layer.layer.bias.assign(random_inputs(layer.layer.bias.shape, seed=2))
    reference = make_layer()
    reference.build(input_shape)
    reference.kernel.assign(layer.normalized_kernel())
    reference.bias.assign(layer.layer.bias)
    np.testing.assert_allclose(layer(x), reference(x), atol=1e-5)


def test_embedding_looks_up_rows_of_the_normalized_table():
    keras.utils.set_random_seed(0)
    layer = SpectralNormalization(keras.layers.Embedding(7, 4), power_iterations=50)
    ids = np.array([[0, 3], [6, 3]], "int32")
    _converge(layer, ids)
    table = layer.normalized_kernel().numpy()
    np.testing.assert_allclose(_top_singular_value(table), 1.0, rtol=1e-3)
    np.testing.assert_allclose(layer(ids), table[ids], atol=1e-6)


def _alignment(grad, kernel):
    grad, kernel = np.ravel(grad), np.ravel(kernel)
    return abs(grad @ kernel) / (np.linalg.norm(grad) * np.linalg.norm(kernel))


def _scale_invariant_loss_grad(layer, x, kernel_variable):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.sin(3.0 * layer(x, training=True)))
    return tape.gradient(loss, kernel_variable.value)


def test_gradient_flows_through_sigma_unlike_keras_builtin():
    keras.utils.set_random_seed(0)
    x = random_inputs((8, 5), seed=3)
    ours = SpectralNormalization(keras.layers.Dense(4, use_bias=False))
    ours(x, training=True)
    kernel = ours.layer.kernel
    grad = _scale_invariant_loss_grad(ours, x, kernel)
    assert np.all(np.isfinite(grad))
    assert np.linalg.norm(grad) > 1e-3
    # L(W / sigma(W)) does not change when W is scaled, so its gradient is
    # orthogonal to W, but only if the gradient flows through sigma.
    assert _alignment(grad, kernel.numpy()) < 1e-4

    builtin = keras.layers.SpectralNormalization(keras.layers.Dense(4, use_bias=False))
    builtin(x, training=True)
    builtin_kernel = builtin.layer.kernel
    builtin_grad = _scale_invariant_loss_grad(builtin, x, builtin_kernel)
    assert _alignment(builtin_grad, builtin_kernel.numpy()) > 1e-2


def test_u_updates_only_in_training_and_kernel_is_never_overwritten():
    keras.utils.set_random_seed(0)
    x = random_inputs((4, 6, 6, 3), seed=4)
    layer = SpectralNormalization(keras.layers.Conv2D(4, 3))
    layer(x)
    u_before = layer.u.numpy().copy()
    kernel_before = layer.layer.kernel.numpy().copy()
    out_1 = layer(x, training=False).numpy()
    out_2 = layer(x).numpy()
    np.testing.assert_array_equal(layer.u.numpy(), u_before)
    np.testing.assert_array_equal(out_1, out_2)
    layer(x, training=True)
    assert not np.allclose(layer.u.numpy(), u_before)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel_before)


def test_trains_with_fit_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1))).astype("float32")
    inputs = keras.Input((6,))
    hidden = SpectralNormalization(keras.layers.Dense(16, activation="relu"))(inputs)
    outputs = SpectralNormalization(keras.layers.Dense(1))(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    u_before = model.layers[1].u.numpy().copy()
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert not np.allclose(model.layers[1].u.numpy(), u_before)
    restored = assert_keras_round_trip(model, inputs=x[:4], tmp_path=tmp_path)
    np.testing.assert_array_equal(
        restored.layers[1].u.numpy(), model.layers[1].u.numpy()
    )
    assert restored.layers[1].get_config()["power_iterations"] == 1

    layer = SpectralNormalization(keras.layers.Conv2D(3, 3), power_iterations=2)
    assert_keras_round_trip(layer, input_shape=(2, 5, 5, 2))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TypeError, match="DepthwiseConv2D"):
        SpectralNormalization(keras.layers.DepthwiseConv2D(3))
    with pytest.raises(TypeError, match="BatchNormalization"):
        SpectralNormalization(keras.layers.BatchNormalization())
    with pytest.raises(TypeError, match="Keras layer"):
        SpectralNormalization("dense")
    with pytest.raises(ValueError, match="power_iterations=0"):
        SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="causal"):
        SpectralNormalization(keras.layers.Conv1D(2, 3, padding="causal"))


_MIRRORED_SCRIPT = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras
import numpy as np
from keras_ssl.layers import SpectralNormalization

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = keras.Sequential([
        keras.Input((6,)),
        SpectralNormalization(keras.layers.Dense(8, activation="relu")),
        SpectralNormalization(keras.layers.Dense(1)),
    ])
    model.compile(optimizer="adam", loss="mse")
u_before = model.layers[0].u.numpy().copy()
x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
history = model.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
assert np.all(np.isfinite(history.history["loss"]))
assert not np.allclose(model.layers[0].u.numpy(), u_before)
print("ok")
"""


@pytest.mark.slow
def test_trains_under_mirrored_strategy():
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _MIRRORED_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("singular_vector", ["left", "right", "auto"])
def test_left_and_right_vectors_estimate_the_same_sigma(singular_vector):
    # compare_gan keeps the (R, 1) left vector; both converge to sigma_max.
    keras.utils.set_random_seed(1)
    layer = SpectralNormalization(
        keras.layers.Conv2D(5, 3, padding="same"),
        power_iterations=60,
        singular_vector=singular_vector,
    )
    x = random_inputs((2, 6, 6, 4), seed=0)
    layer(x)
    rows = 3 * 3 * 4
    left = singular_vector == "left" or (singular_vector == "auto" and rows <= 5)
    assert tuple(layer.u.shape) == ((rows, 1) if left else (1, 5))
    layer(x, training=True)
    kernel = np.asarray(layer.normalized_kernel())
    np.testing.assert_allclose(_top_singular_value(kernel), 1.0, atol=1e-3)


def test_left_vector_follows_compare_gans_update():
    rng = np.random.default_rng(0)
    layer = SpectralNormalization(
        keras.layers.Dense(3, use_bias=False),
        singular_vector="left",
        update_at_inference=True,
    )
    layer.build((None, 4))
    w = rng.normal(size=(4, 3)).astype("float32")
    u0 = rng.normal(size=(4, 1)).astype("float32")
    layer.layer.kernel.assign(w)
    layer.u.assign(u0)
    x = rng.normal(size=(2, 4)).astype("float32")
    out = np.asarray(layer(x, training=False))
    v = w.T @ u0
    v /= np.linalg.norm(v)
    u1 = w @ v
    u1 /= np.linalg.norm(u1)
    sigma = float((u1.T @ w @ v).item())
    np.testing.assert_allclose(out, x @ (w / sigma), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.u), u1, rtol=1e-5, atol=1e-6)


def test_inference_leaves_u_alone_by_default():
    layer = SpectralNormalization(keras.layers.Dense(3))
    x = random_inputs((2, 4), seed=0)
    layer(x)
    before = np.asarray(layer.u).copy()
    layer(x, training=False)
    np.testing.assert_array_equal(np.asarray(layer.u), before)


def test_bad_singular_vector_is_a_clear_error():
    with pytest.raises(ValueError, match="singular_vector"):
        SpectralNormalization(keras.layers.Dense(3), singular_vector="top")
