import numpy as np
import pytest

from keras_ssl.layers import LinearConditionalBatchNormalization
from tests.helpers import assert_keras_round_trip, random_inputs


@pytest.mark.parametrize("statistics", ["moving", "accumulated"])
def test_gains_are_linear_in_the_condition(statistics):
    x = random_inputs((4, 3, 3, 5), seed=0)
    c = random_inputs((4, 7), seed=1)
    layer = LinearConditionalBatchNormalization(statistics=statistics)
    y = np.asarray(layer(x, c, training=True))
    normalized = (x - x.mean(axis=(0, 1, 2))) / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-5)
    gamma = c @ np.asarray(layer.gamma.kernel)
    beta = c @ np.asarray(layer.beta.kernel)
    expected = normalized * gamma[:, None, None] + beta[:, None, None]
    np.testing.assert_allclose(y, expected, atol=1e-4)


def test_spectral_norm_adds_vectors_and_round_trips():
    layer = LinearConditionalBatchNormalization(
        use_spectral_norm=True, singular_vector="auto", statistics="moving"
    )
    x, c = random_inputs((2, 4, 4, 3), seed=0), random_inputs((2, 6), seed=1)
    layer(x, c)
    assert {tuple(w.shape) for w in layer.non_trainable_weights} >= {(1, 3)}
    assert_keras_round_trip(layer, inputs=[x, c])


def test_condition_rank_is_checked():
    with pytest.raises(ValueError, match=r"shape \(B, D\)"):
        LinearConditionalBatchNormalization().build((2, 4, 4, 3), (2, 3, 3))


def test_statistics_choice_is_checked():
    with pytest.raises(ValueError, match="statistics"):
        LinearConditionalBatchNormalization(statistics="running")
