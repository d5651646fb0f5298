import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import SinkhornNormalization
from keras_ssl.ops import hungarian_match
from tests.helpers import assert_keras_round_trip, random_inputs


@pytest.mark.parametrize("n", [1, 3, 9])
def test_rows_and_columns_sum_to_one(n):
    scores = random_inputs((4, n, n), seed=n) * 2.0
    out = SinkhornNormalization(n_iters=30)(scores).numpy()
    assert out.shape == (4, n, n)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=-2), 1.0, atol=1e-5)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-3)


def test_matches_the_classic_sinkhorn_iterations():
    scores = random_inputs((2, 5, 5), seed=0)
    matrix = np.exp(scores.astype("float64") / 0.5)
    for _ in range(7):
        matrix /= matrix.sum(axis=-1, keepdims=True)
        matrix /= matrix.sum(axis=-2, keepdims=True)
    out = SinkhornNormalization(n_iters=7, temperature=0.5)(scores)
    np.testing.assert_allclose(out, matrix, rtol=1e-4, atol=1e-6)


def test_low_temperature_approaches_the_best_permutation():
    rng = np.random.default_rng(1)
    truth = np.stack([np.eye(6)[rng.permutation(6)] for _ in range(3)])
    scores = (truth + 0.25 * rng.normal(size=(3, 6, 6))).astype("float32")
    hard = hungarian_match(scores)
    soft = SinkhornNormalization(n_iters=50, temperature=1.0)(scores).numpy()
    sharp = SinkhornNormalization(n_iters=50, temperature=0.05)(scores).numpy()
    assert np.all(np.isfinite(sharp))
    mass_soft = np.sum(soft * hard, axis=(1, 2))
    mass_sharp = np.sum(sharp * hard, axis=(1, 2))
    assert np.all(mass_sharp > mass_soft)
    assert np.all(mass_sharp > 0.95 * 6)


@pytest.mark.parametrize("temperature", [1.0, 0.2, 0.05])
def test_gradients_are_finite_at_low_temperature(temperature):
    scores = tf.constant(random_inputs((2, 8, 8), seed=2) * 5.0)
    layer = SinkhornNormalization(n_iters=20, temperature=temperature)
    target = tf.constant(np.eye(8, dtype="float32")[None].repeat(2, axis=0))
    with tf.GradientTape() as tape:
        tape.watch(scores)
        loss = tf.reduce_sum((layer(scores) - target) ** 2)
    grad = tape.gradient(loss, scores).numpy()
    assert np.isfinite(float(loss)) and np.all(np.isfinite(grad))
    assert np.abs(grad).max() > 0


def test_learns_a_permutation_by_gradient_descent():
    permutation = np.eye(5, dtype="float32")[[3, 0, 4, 1, 2]][None]
    scores = keras.Variable(np.zeros((1, 5, 5), "float32"))
    layer = SinkhornNormalization(n_iters=10, temperature=0.5)
    optimizer = keras.optimizers.Adam(0.1)
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((layer(scores.value) - permutation) ** 2)
        optimizer.apply([tape.gradient(loss, scores.value)], [scores])
    np.testing.assert_array_equal(hungarian_match(layer(scores.value)), permutation)


def test_gumbel_noise_only_in_training():
    scores = random_inputs((2, 4, 4), seed=3)
    layer = SinkhornNormalization(noise_factor=1.0, seed=4)
    np.testing.assert_array_equal(layer(scores), layer(scores, training=False))
    noisy_1 = layer(scores, training=True).numpy()
    noisy_2 = layer(scores, training=True).numpy()
    assert not np.allclose(noisy_1, layer(scores))
    assert not np.allclose(noisy_1, noisy_2)
    np.testing.assert_allclose(noisy_1.sum(axis=-2), 1.0, atol=1e-5)
    quiet = SinkhornNormalization(noise_factor=0.0)
    np.testing.assert_array_equal(quiet(scores, training=True), quiet(scores))


def test_round_trip_and_functional_model(tmp_path):
    layer = SinkhornNormalization(n_iters=5, temperature=0.3, noise_factor=0.5, seed=1)
    restored = assert_keras_round_trip(layer, input_shape=(2, 4, 4), tmp_path=tmp_path)
    assert restored.layers[-1].get_config()["temperature"] == 0.3
    inputs = keras.Input((16,))
    scores = keras.layers.Reshape((4, 4))(keras.layers.Dense(16)(inputs))
    model = keras.Model(inputs, SinkhornNormalization()(scores))
    assert model(random_inputs((3, 16))).shape == (3, 4, 4)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="n_iters=0"):
        SinkhornNormalization(n_iters=0)
    with pytest.raises(ValueError, match="temperature=0"):
        SinkhornNormalization(temperature=0)
    with pytest.raises(ValueError, match="temperature=-1"):
        SinkhornNormalization(temperature=-1.0)
    with pytest.raises(ValueError, match="noise_factor=-0.1"):
        SinkhornNormalization(noise_factor=-0.1)
    with pytest.raises(ValueError, match="rank 3"):
        SinkhornNormalization()(random_inputs((4, 4)))
    with pytest.raises(ValueError, match="square"):
        SinkhornNormalization()(random_inputs((2, 4, 5)))
