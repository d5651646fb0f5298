import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import SelfAttention2D
from tests.helpers import assert_keras_round_trip, random_inputs


def _kernel(conv):
    if hasattr(conv, "normalized_kernel"):
        return conv.normalized_kernel().numpy()[0, 0]
    return conv.kernel.numpy()[0, 0]


def _numpy_attention(layer, x):
    b, h, w, c = x.shape
    query = x @ _kernel(layer.query)
    key = x @ _kernel(layer.key)
    value = x @ _kernel(layer.value)
    if layer.downsample:

        def pool(t):
            return t.reshape(b, h // 2, 2, w // 2, 2, -1).max(axis=(2, 4))

        key, value = pool(key), pool(value)
    query = query.reshape(b, h * w, -1)
    key = key.reshape(b, key.shape[1] * key.shape[2], -1)
    value = value.reshape(b, value.shape[1] * value.shape[2], -1)
    logits = query @ key.transpose(0, 2, 1)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    attended = (weights @ value).reshape(b, h, w, -1)
    return x + layer.gamma.numpy() * (attended @ _kernel(layer.attention_output))


@pytest.mark.parametrize("downsample", [False, True])
def test_identity_at_init(downsample):
    x = random_inputs((2, 4, 6, 16), seed=0)
    layer = SelfAttention2D(downsample=downsample)
    np.testing.assert_array_equal(layer(x), x)
    assert float(layer.gamma.numpy()) == 0.0


@pytest.mark.parametrize(
    "downsample, use_spectral_norm", [(False, False), (True, False), (False, True)]
)
def test_matches_the_non_local_formula(downsample, use_spectral_norm):
    x = random_inputs((2, 4, 4, 16), seed=1)
    layer = SelfAttention2D(
        channels_reduction=4, downsample=downsample, use_spectral_norm=use_spectral_norm
    )
    layer(x)
    layer.gamma.assign(0.7)
    out = layer(x).numpy()
    assert not np.allclose(out, x)
    np.testing.assert_allclose(out, _numpy_attention(layer, x), atol=1e-4, rtol=1e-4)


def test_equivariant_to_permuting_positions():
    x = random_inputs((1, 3, 5, 8), seed=2)
    layer = SelfAttention2D(channels_reduction=2, value_channels_reduction=1)
    layer(x)
    layer.gamma.assign(1.3)
    order = np.random.default_rng(3).permutation(15)
    shuffled = x.reshape(1, 15, 8)[:, order].reshape(1, 3, 5, 8)
    expected = layer(x).numpy().reshape(1, 15, 8)[:, order].reshape(1, 3, 5, 8)
    np.testing.assert_allclose(layer(shuffled), expected, atol=1e-5)


def test_gradients_are_finite_and_reach_gamma():
    x = tf.constant(random_inputs((2, 4, 4, 8), seed=4))
    layer = SelfAttention2D(use_spectral_norm=True)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.sin(layer(x, training=True)))
    grads = tape.gradient(loss, [x] + [w.value for w in layer.trainable_weights])
    assert all(np.all(np.isfinite(g)) for g in grads)
    gamma_grad = grads[1 + [w.name for w in layer.trainable_weights].index("gamma")]
    assert abs(float(gamma_grad)) > 0


def test_round_trip_and_functional_model(tmp_path):
    layer = SelfAttention2D(
        channels_reduction=4, downsample=True, use_spectral_norm=True
    )
    x = random_inputs((2, 4, 4, 8), seed=5)
    layer(x)
    layer.gamma.assign(0.5)
    restored = assert_keras_round_trip(layer, inputs=x, tmp_path=tmp_path)
    config = restored.layers[-1].get_config()
    assert config["downsample"] and config["use_spectral_norm"]
    inputs = keras.Input((None, None, 8))
    outputs = SelfAttention2D(channels_reduction=4)(keras.layers.Conv2D(8, 3)(inputs))
    model = keras.Model(inputs, outputs)
    assert model(random_inputs((2, 7, 9, 8))).shape == (2, 5, 7, 8)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="channels_reduction=0"):
        SelfAttention2D(channels_reduction=0)
    with pytest.raises(ValueError, match="rank 4"):
        SelfAttention2D()(random_inputs((2, 8, 16)))
    with pytest.raises(ValueError, match="channel"):
        SelfAttention2D().build((2, 4, 4, None))
    with pytest.raises(ValueError, match="channels=4, channels_reduction=8"):
        SelfAttention2D()(random_inputs((2, 4, 4, 4)))
    with pytest.raises(ValueError, match="even"):
        SelfAttention2D(downsample=True)(random_inputs((2, 5, 4, 16)))
