import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import ChannelWiseDense
from tests.helpers import assert_keras_round_trip, random_inputs


def test_shape_and_parameter_count():
    layer = ChannelWiseDense()
    assert layer(random_inputs((2, 4, 5, 3))).shape == (2, 4, 5, 3)
    assert layer.kernel.shape == (3, 20, 20)
    assert layer.count_params() == 3 * 20**2 + 3 * 20
    no_bias = ChannelWiseDense(use_bias=False)
    no_bias(random_inputs((1, 4, 4, 6)))
    assert no_bias.count_params() == 6 * 16**2


def test_matches_a_dense_map_per_channel():
    x = random_inputs((3, 3, 4, 2), seed=0)
    layer = ChannelWiseDense(bias_initializer="random_normal")
    out = layer(x).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    for c in range(2):
        expected = x[..., c].reshape(3, 12) @ kernel[c] + bias[:, c]
        np.testing.assert_allclose(out[..., c].reshape(3, 12), expected, atol=1e-5)


def test_never_mixes_channels():
    x = random_inputs((2, 4, 4, 5), seed=1)
    layer = ChannelWiseDense()
    base = layer(x).numpy()
    perturbed = x.copy()
    perturbed[..., 2] += random_inputs((2, 4, 4), seed=2)
    out = layer(perturbed).numpy()
    others = [0, 1, 3, 4]
    np.testing.assert_array_equal(out[..., others], base[..., others])
    assert np.abs(out[..., 2] - base[..., 2]).min() > 0
    # Each output position of a channel depends on every input position of it.
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y = layer(x_t)[0, 0, 0, 2]
    grad = tape.gradient(y, x_t).numpy()
    assert np.all(grad[0, ..., 2] != 0)
    np.testing.assert_array_equal(grad[..., others], 0.0)
    np.testing.assert_array_equal(grad[1], 0.0)


def test_default_init_keeps_the_scale_and_gradients_are_finite():
    keras.utils.set_random_seed(0)
    x = tf.constant(random_inputs((16, 8, 8, 4), seed=3))
    layer = ChannelWiseDense()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_mean(y**2)
    grads = tape.gradient(loss, [x] + [w.value for w in layer.trainable_weights])
    assert all(np.all(np.isfinite(g)) for g in grads)
    # Glorot per channel: output variance about the input variance.
    assert 0.5 < float(tf.math.reduce_variance(y)) < 2.0


def test_round_trip_and_functional_model(tmp_path):
    layer = ChannelWiseDense(kernel_initializer="he_normal")
    restored = assert_keras_round_trip(
        layer, input_shape=(2, 4, 4, 3), tmp_path=tmp_path
    )
    assert restored.layers[-1].get_config()["use_bias"] is True
    assert_keras_round_trip(ChannelWiseDense(), input_shape=(2, 3, 3, 2))
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Conv2D(6, 3, strides=2, padding="same")(inputs)
    features = ChannelWiseDense()(features)
    outputs = keras.layers.Conv2D(6, 1)(features)
    model = keras.Model(inputs, outputs)
    assert model(random_inputs((2, 8, 8, 3))).shape == (2, 4, 4, 6)


def test_bad_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="rank 4"):
        ChannelWiseDense()(random_inputs((2, 16, 3)))
    with pytest.raises(ValueError, match="known height, width and channels"):
        ChannelWiseDense().build((2, None, 4, 3))
    with pytest.raises(ValueError, match="known height, width and channels"):
        ChannelWiseDense().build((2, 4, 4, None))
