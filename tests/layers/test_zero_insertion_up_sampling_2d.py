import numpy as np
import pytest

from keras_ssl.layers import ZeroInsertionUpSampling2D
from tests.helpers import assert_keras_round_trip, random_inputs


def test_each_pixel_goes_to_the_top_left_of_its_cell():
    x = random_inputs((2, 3, 5, 4), seed=0)
    y = np.asarray(ZeroInsertionUpSampling2D()(x))
    assert y.shape == (2, 6, 10, 4)
    np.testing.assert_array_equal(y[:, ::2, ::2], x)
    mask = np.ones((6, 10), bool)
    mask[::2, ::2] = False
    assert np.all(y[:, mask] == 0)


def test_round_trip():
    assert_keras_round_trip(ZeroInsertionUpSampling2D(), input_shape=(2, 4, 4, 3))


def test_rank_is_checked():
    with pytest.raises(ValueError, match="rank 4"):
        ZeroInsertionUpSampling2D().build((2, 4, 3))
