import numpy as np
import pytest

from keras_ssl.layers import DiscriminatorBlock
from tests.helpers import assert_keras_round_trip, random_inputs


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"optimized": True}, (2, 4, 4, 6)),
        ({}, (2, 4, 4, 6)),
        ({"downsample": False}, (2, 8, 8, 6)),
    ],
)
def test_output_shapes(kwargs, expected):
    block = DiscriminatorBlock(6, **kwargs)
    assert tuple(block(random_inputs((2, 8, 8, 3), seed=0)).shape) == expected


def test_identity_shortcut_when_the_shape_is_kept():
    block = DiscriminatorBlock(4, downsample=False, spectral_norm=False)
    x = random_inputs((2, 8, 8, 4), seed=0)
    block(x)
    assert block.shortcut is None
    block.conv_2.kernel.assign(np.zeros(block.conv_2.kernel.shape, "float32"))
    block.conv_2.bias.assign(np.zeros(block.conv_2.bias.shape, "float32"))
    np.testing.assert_allclose(block(x), x, atol=1e-6)


def test_spectral_norm_bounds_the_residual_branch():
    # Each spectrally normalised conv is (about) 1-Lipschitz, ReLU and average
    # pooling are too, so the block's output change is bounded by a small
    # multiple of the input change. Without spectral norm, big kernels break it.
    x = random_inputs((4, 8, 8, 3), seed=0)
    delta = 1e-2 * random_inputs((4, 8, 8, 3), seed=1)
    block = DiscriminatorBlock(8, optimized=True, spectral_norm=True)
    for _ in range(20):  # converge the power iteration
        block(x, training=True)
    for layer in (block.conv_1, block.conv_2, block.shortcut):
        layer.layer.kernel.assign(np.asarray(layer.layer.kernel) * 100.0)
    for _ in range(20):
        block(x, training=True)
    change = np.linalg.norm(np.asarray(block(x + delta)) - np.asarray(block(x)))
    # 3x3 conv norms over the spatial map can exceed 1 by the kernel size; 9 is loose.
    assert change < 9.0 * np.linalg.norm(delta)


def test_round_trip():
    assert_keras_round_trip(
        DiscriminatorBlock(4, optimized=True), inputs=random_inputs((2, 8, 8, 3))
    )


def test_bad_filters_is_a_clear_error():
    with pytest.raises(ValueError, match="filters to be a positive int"):
        DiscriminatorBlock(-1)
