import numpy as np
import pytest

from keras_ssl.layers import ReflectionPadding2D
from tests.helpers import random_inputs, run_layer_test


@pytest.mark.parametrize("padding", [1, 3, ((1, 2), (0, 3))])
def test_equals_numpy_reflect_padding(padding):
    x = random_inputs((2, 7, 6, 3), seed=0)
    pads = (
        ((padding, padding), (padding, padding))
        if isinstance(padding, int)
        else padding
    )
    expected = np.pad(x, ((0, 0), *pads, (0, 0)), mode="reflect")
    np.testing.assert_array_equal(np.asarray(ReflectionPadding2D(padding)(x)), expected)


def test_layer_contract():
    run_layer_test(
        ReflectionPadding2D,
        {"padding": 2},
        random_inputs((2, 5, 5, 3), seed=1),
        expected_output_shape=(2, 9, 9, 3),
        expected_num_trainable_weights=0,
    )


def test_padding_as_large_as_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="smaller than the input H"):
        ReflectionPadding2D(3)(np.zeros((1, 3, 8, 1), "float32"))
    with pytest.raises(ValueError, match="padding must be an int"):
        ReflectionPadding2D("same")
