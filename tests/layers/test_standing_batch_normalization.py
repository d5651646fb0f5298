import numpy as np
import pytest

from keras_ssl.layers import StandingBatchNormalization
from tests.helpers import assert_keras_round_trip, random_inputs


def test_training_uses_batch_statistics_and_changes_no_state():
    x = random_inputs((8, 4, 4, 3), seed=0) * 3 + 1
    layer = StandingBatchNormalization()
    y = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(layer.accu_mean), 0)


def test_accumulated_statistics_are_the_mean_of_batch_statistics():
    rng = np.random.default_rng(0)
    batches = [rng.normal(2, 3, size=(6, 3, 3, 2)).astype("float32") for _ in range(3)]
    layer = StandingBatchNormalization(center=False, scale=False)
    layer.build(batches[0].shape)
    layer.accu_counter.assign(0.0)
    layer.update_accus.assign(1)
    for batch in batches:
        layer(batch, training=False)
    layer.update_accus.assign(0)
    means = [b.mean(axis=(0, 1, 2)) for b in batches]
    variances = [b.var(axis=(0, 1, 2)) for b in batches]
    np.testing.assert_allclose(float(layer.accu_counter.numpy()), 3)
    x = batches[0]
    expected = (x - np.mean(means, 0)) / np.sqrt(np.mean(variances, 0) + 1e-5)
    np.testing.assert_allclose(layer(x, training=False), expected, atol=1e-4)
    np.testing.assert_allclose(float(layer.accu_counter.numpy()), 3)


def test_round_trip():
    layer = StandingBatchNormalization()
    layer.build((2, 4, 4, 3))
    layer.accu_mean.assign(np.ones(3, "float32"))
    layer.accu_variance.assign(np.full(3, 2.0, "float32"))
    layer.accu_counter.assign(1.0)
    assert_keras_round_trip(layer, input_shape=(2, 4, 4, 3))


def test_unknown_channels_is_a_clear_error():
    with pytest.raises(ValueError, match="known C"):
        StandingBatchNormalization().build((2, 4, 4, None))
