import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.layers import ConditionalBatchNormalization
from tests.helpers import assert_keras_round_trip, random_inputs


def _randomize_tables(layer, seed=0):
    rng = np.random.default_rng(seed)
    layer.gamma.assign(rng.normal(1.0, 0.5, size=layer.gamma.shape))
    layer.beta.assign(rng.normal(0.0, 0.5, size=layer.beta.shape))


@pytest.mark.parametrize("shape", [(6, 4, 4, 5), (6, 5)])
def test_all_labels_k_equals_batch_norm_with_class_k(shape):
    x = random_inputs(shape, seed=1) * 3.0 + 2.0
    layer = ConditionalBatchNormalization(num_classes=4)
    layer(x, np.zeros(shape[0], "int32"))
    _randomize_tables(layer)
    for k in range(4):
        reference = keras.layers.BatchNormalization(epsilon=1e-5)
        reference.build(shape)
        reference.gamma.assign(layer.gamma.numpy()[k])
        reference.beta.assign(layer.beta.numpy()[k])
        reference.moving_mean.assign(layer.batch_norm.moving_mean)
        reference.moving_variance.assign(layer.batch_norm.moving_variance)
        labels = np.full(shape[0], k, "int32")
        for training in (True, False):
            np.testing.assert_allclose(
                layer(x, labels, training=training),
                reference(x, training=training),
                atol=1e-5,
            )


def test_one_hot_and_soft_labels_mix_the_tables():
    x = random_inputs((4, 3, 3, 2), seed=2)
    layer = ConditionalBatchNormalization(num_classes=3)
    int_labels = np.array([0, 2, 1, 2], "int32")
    layer(x, int_labels)
    _randomize_tables(layer, seed=3)
    one_hot = np.eye(3, dtype="float32")[int_labels]
    np.testing.assert_allclose(
        layer(x, one_hot, training=True),
        layer(x, int_labels, training=True),
        atol=1e-6,
    )
    # With fixed statistics the output is affine in (gamma, beta), hence in
    # the label weights: a 30/70 soft label gives the 30/70 mix of outputs.
    soft = np.tile(np.array([[0.3, 0.0, 0.7]], "float32"), (4, 1))
    out_0 = layer(x, np.zeros(4, "int32")).numpy()
    out_2 = layer(x, np.full(4, 2, "int32")).numpy()
    np.testing.assert_allclose(layer(x, soft), 0.3 * out_0 + 0.7 * out_2, atol=1e-5)
    labels_column = int_labels[:, None]
    np.testing.assert_allclose(layer(x, labels_column), layer(x, int_labels), atol=1e-6)


def test_starts_as_plain_normalization_and_moving_stats_update_only_in_training():
    x = random_inputs((16, 4), seed=4) * 2.0 + 5.0
    layer = ConditionalBatchNormalization(num_classes=2, momentum=0.5)
    labels = np.array([0, 1] * 8, "int32")
    out = layer(x, labels, training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-3)
    moving_mean = layer.batch_norm.moving_mean.numpy().copy()
    np.testing.assert_allclose(moving_mean, 0.5 * x.mean(axis=0), rtol=1e-5)
    layer(x, labels, training=False)
    layer(x, labels)
    np.testing.assert_array_equal(layer.batch_norm.moving_mean.numpy(), moving_mean)


def test_gradients_are_finite_and_reach_only_used_classes():
    x = tf.constant(random_inputs((4, 3, 3, 2), seed=5))
    layer = ConditionalBatchNormalization(num_classes=3)
    labels = np.array([0, 0, 1, 1], "int32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x, labels, training=True) ** 2)
    grad_x, grad_gamma = tape.gradient(loss, [x, layer.gamma.value])
    assert np.all(np.isfinite(grad_x)) and np.all(np.isfinite(grad_gamma))
    np.testing.assert_array_equal(grad_gamma[2], 0.0)
    assert np.all(np.abs(grad_gamma[:2]) > 0)


def test_round_trip_and_functional_model(tmp_path):
    x = random_inputs((4, 4, 4, 3), seed=6)
    labels = np.array([0, 1, 2, 1], "int32")
    layer = ConditionalBatchNormalization(num_classes=3, momentum=0.9)
    layer(x, labels, training=True)
    _randomize_tables(layer, seed=7)
    restored = assert_keras_round_trip(layer, inputs=[x, labels], tmp_path=tmp_path)
    restored_layer = restored.layers[-1]
    assert restored_layer.get_config()["momentum"] == 0.9
    soft = np.eye(3, dtype="float32")[labels]
    assert_keras_round_trip(
        ConditionalBatchNormalization(num_classes=3), inputs=[x, soft]
    )


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="num_classes >= 1. Received: num_classes=0"):
        ConditionalBatchNormalization(num_classes=0)
    with pytest.raises(TypeError, match="num_classes"):
        ConditionalBatchNormalization(num_classes=2.5)
    layer = ConditionalBatchNormalization(num_classes=3)
    with pytest.raises(ValueError, match="soft labels of shape"):
        layer(random_inputs((2, 4)), np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="rank"):
        ConditionalBatchNormalization(2)(random_inputs((4,)), np.zeros(4, "int32"))
    with pytest.raises(ValueError, match="channel"):
        ConditionalBatchNormalization(2).build((2, 4, 4, None))
