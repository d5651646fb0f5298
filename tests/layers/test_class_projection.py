import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import ClassProjection
from tests.helpers import assert_keras_round_trip, random_inputs


def test_equals_the_hand_computed_inner_product():
    features = random_inputs((5, 6), seed=0)
    labels = np.array([0, 3, 1, 3, 2], "int32")
    layer = ClassProjection(num_classes=4)
    out = layer(features, labels).numpy()
    table = layer.embeddings.numpy()
    expected = [
        [sum(table[y, d] * features[b, d] for d in range(6))]
        for b, y in enumerate(labels)
    ]
    assert out.shape == (5, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_soft_labels_mix_the_embeddings():
    features = random_inputs((3, 4), seed=1)
    layer = ClassProjection(num_classes=3)
    one_hot = np.eye(3, dtype="float32")[[2, 0, 1]]
    np.testing.assert_allclose(
        layer(features, one_hot), layer(features, np.array([2, 0, 1])), atol=1e-6
    )
    soft = np.array([[0.25, 0.75, 0.0]] * 3, "float32")
    expected = 0.25 * layer(features, np.zeros(3, "int32")) + 0.75 * layer(
        features, np.ones(3, "int32")
    )
    np.testing.assert_allclose(layer(features, soft), expected, atol=1e-6)


def test_spectral_norm_divides_the_table_by_its_top_singular_value():
    keras.utils.set_random_seed(0)
    features = random_inputs((4, 5), seed=2)
    labels = np.array([0, 1, 2, 0], "int32")
    layer = ClassProjection(num_classes=3, use_spectral_norm=True)
    for _ in range(60):
        layer(features, labels, training=True)
    u = layer.u.numpy().copy()
    table = layer.embeddings.numpy()
    sigma = np.linalg.svd(table, compute_uv=False)[0]
    expected = np.sum((table[labels] / sigma) * features, axis=-1, keepdims=True)
    np.testing.assert_allclose(layer(features, labels), expected, rtol=1e-4)
    np.testing.assert_array_equal(layer.u.numpy(), u)


def test_gradients_are_finite_and_reach_only_used_classes():
    features = tf.constant(random_inputs((4, 3), seed=3))
    labels = np.array([0, 2, 0, 2], "int32")
    for use_spectral_norm in (False, True):
        layer = ClassProjection(num_classes=3, use_spectral_norm=use_spectral_norm)
        with tf.GradientTape() as tape:
            tape.watch(features)
            out = tf.reduce_sum(layer(features, labels, training=True))
        grad_features, grad_table = tape.gradient(
            out, [features, layer.embeddings.value]
        )
        assert np.all(np.isfinite(grad_features)) and np.all(np.isfinite(grad_table))
        if not use_spectral_norm:
            np.testing.assert_array_equal(grad_table[1], 0.0)


def test_round_trip_and_functional_model(tmp_path):
    features = random_inputs((4, 8), seed=4)
    labels = np.array([1, 0, 1, 2], "int32")
    restored = assert_keras_round_trip(
        ClassProjection(num_classes=3, use_spectral_norm=True),
        inputs=[features, labels],
        tmp_path=tmp_path,
    )
    assert restored.layers[-1].get_config()["use_spectral_norm"] is True
    inputs = keras.Input((8,))
    label_input = keras.Input((3,))
    pooled = keras.layers.Dense(8)(inputs)
    logits = keras.layers.Dense(1)(pooled) + ClassProjection(3)(pooled, label_input)
    model = keras.Model([inputs, label_input], logits)
    assert model([features, np.eye(3, dtype="float32")[labels]]).shape == (4, 1)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="num_classes=0"):
        ClassProjection(num_classes=0)
    with pytest.raises(ValueError, match=r"features of shape \(B, D\)"):
        ClassProjection(3)(random_inputs((2, 4, 4)), np.zeros(2, "int32"))
    with pytest.raises(ValueError, match="soft labels of shape"):
        ClassProjection(3)(random_inputs((2, 4)), np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="rank"):
        ClassProjection(3)(random_inputs((2, 4)), np.ones((2, 3, 1), "float32"))
