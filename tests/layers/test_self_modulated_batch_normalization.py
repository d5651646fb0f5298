import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import SelfModulatedBatchNormalization
from tests.helpers import assert_keras_round_trip, random_inputs


def _manual(layer, x, z):
    """The sBN formula in NumPy with the layer's own weights (training mode)."""
    w1, b1 = layer.hidden.kernel.numpy(), layer.hidden.bias.numpy()
    wg, bg = layer.gamma_head.kernel.numpy(), layer.gamma_head.bias.numpy()
    wb, bb = layer.beta_head.kernel.numpy(), layer.beta_head.bias.numpy()
    hidden = np.maximum(z @ w1 + b1, 0.0)
    gamma, beta = hidden @ wg + bg, hidden @ wb + bb
    axes = tuple(range(x.ndim - 1))
    x_hat = (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + layer.epsilon)
    shape = (-1,) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    return x_hat * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape", [(5, 4, 4, 6), (5, 6)])
def test_matches_the_formula(shape):
    x = random_inputs(shape, seed=0) * 2.0 + 1.0
    z = random_inputs((shape[0], 7), seed=1)
    layer = SelfModulatedBatchNormalization(hidden_units=8)
    layer(x, z)
    rng = np.random.default_rng(2)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(size=weight.shape))
    np.testing.assert_allclose(
        layer(x, z, training=True), _manual(layer, x, z), atol=1e-4, rtol=1e-4
    )


def test_starts_close_to_batch_norm_with_gamma_bias_one():
    keras.utils.set_random_seed(0)
    x = random_inputs((8, 3, 3, 4), seed=3)
    z = random_inputs((8, 16), seed=4)
    layer = SelfModulatedBatchNormalization()
    out = layer(x, z, training=True).numpy()
    np.testing.assert_array_equal(layer.gamma_head.bias.numpy(), 1.0)
    np.testing.assert_array_equal(layer.beta_head.bias.numpy(), 0.0)
    reference = keras.layers.BatchNormalization(epsilon=1e-5)(x, training=True)
    np.testing.assert_allclose(out, reference, atol=0.05)


def test_output_depends_on_z_and_gradients_are_finite():
    x = tf.constant(random_inputs((4, 3, 3, 2), seed=5))
    z = tf.constant(random_inputs((4, 6), seed=6))
    layer = SelfModulatedBatchNormalization(hidden_units=4)
    with tf.GradientTape() as tape:
        tape.watch([x, z])
        loss = tf.reduce_sum(layer(x, z, training=True) ** 2)
    grads = tape.gradient(loss, [x, z] + [w.value for w in layer.trainable_weights])
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert np.abs(grads[1]).max() > 0
    moving_before = layer.batch_norm.moving_variance.numpy().copy()
    layer(x, z, training=False)
    np.testing.assert_array_equal(layer.batch_norm.moving_variance, moving_before)


def test_round_trip_and_functional_model(tmp_path):
    x = random_inputs((4, 4, 4, 3), seed=7)
    z = random_inputs((4, 5), seed=8)
    layer = SelfModulatedBatchNormalization(hidden_units=6, momentum=0.8)
    restored = assert_keras_round_trip(layer, inputs=[x, z], tmp_path=tmp_path)
    assert restored.layers[-1].get_config()["hidden_units"] == 6
    np.testing.assert_allclose(restored([x, z]), restored.layers[-1](x, z), atol=1e-6)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="hidden_units=0"):
        SelfModulatedBatchNormalization(hidden_units=0)
    layer = SelfModulatedBatchNormalization()
    with pytest.raises(ValueError, match=r"z of shape \(B, Z\)"):
        layer(random_inputs((2, 4, 4, 3)), random_inputs((2, 2, 5)))
    with pytest.raises(ValueError, match="channel"):
        SelfModulatedBatchNormalization().build((2, 4, None), (2, 5))
