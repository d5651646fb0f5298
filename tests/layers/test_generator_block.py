import numpy as np
import pytest

from keras_ssl.layers import GeneratorBlock
from tests.helpers import assert_keras_round_trip, random_inputs


def test_upsamples_and_sets_the_width():
    block = GeneratorBlock(6)
    out = block(random_inputs((2, 4, 4, 8), seed=0), training=True)
    assert tuple(out.shape) == (2, 8, 8, 6)
    assert block.compute_output_shape((2, 4, 4, 8)) == (2, 8, 8, 6)


def test_identity_shortcut_when_the_shape_is_kept():
    block = GeneratorBlock(8, upsample=False)
    x = random_inputs((2, 4, 4, 8), seed=0)
    block(x, training=False)
    assert block.shortcut is None
    # With the last convolution zeroed the residual branch is 0: output = input.
    block.conv_2.kernel.assign(np.zeros(block.conv_2.kernel.shape, "float32"))
    block.conv_2.bias.assign(np.zeros(block.conv_2.bias.shape, "float32"))
    np.testing.assert_allclose(block(x, training=False), x, atol=1e-6)


def test_conditional_block_depends_on_the_label():
    block = GeneratorBlock(4, normalization="conditional", num_classes=3)
    x = random_inputs((2, 4, 4, 4), seed=0)
    block(x, np.array([0, 1]), training=True)
    # Give each class its own scale so the label changes the output.
    block.norm_1.gamma.assign(
        np.arange(1, 4, dtype="float32")[:, None] * np.ones((3, 4))
    )
    same = block(x, np.array([1, 1]), training=False)
    other = block(x, np.array([2, 2]), training=False)
    again = block(x, np.array([1, 1]), training=False)
    np.testing.assert_allclose(same, again, atol=1e-6)
    assert np.abs(np.asarray(same) - np.asarray(other)).max() > 1e-3


def test_self_modulated_block_depends_on_z():
    block = GeneratorBlock(4, normalization="self_modulated", hidden_units=8)
    x = random_inputs((2, 4, 4, 4), seed=0)
    z1, z2 = random_inputs((2, 16), seed=1), random_inputs((2, 16), seed=2)
    out1 = np.asarray(block(x, z1, training=False))
    out2 = np.asarray(block(x, z2, training=False))
    assert np.abs(out1 - out2).max() > 1e-4


@pytest.mark.parametrize(
    "kwargs, inputs",
    [
        ({"normalization": "batch", "spectral_norm": True}, None),
        ({"normalization": "conditional", "num_classes": 3}, "labels"),
        ({"normalization": "self_modulated"}, "z"),
    ],
)
def test_round_trip(kwargs, inputs):
    x = random_inputs((2, 4, 4, 8), seed=0)
    if inputs is None:
        assert_keras_round_trip(GeneratorBlock(4, **kwargs), inputs=x)
        return
    condition = (
        np.array([0, 2], "int32")
        if inputs == "labels"
        else random_inputs((2, 8), seed=1)
    )
    assert_keras_round_trip(GeneratorBlock(4, **kwargs), inputs=[x, condition])


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="normalization to be one of .*Received: "):
        GeneratorBlock(4, normalization="group")
    with pytest.raises(ValueError, match="needs num_classes"):
        GeneratorBlock(4, normalization="conditional")
    with pytest.raises(ValueError, match="filters to be a positive int"):
        GeneratorBlock(0)
    with pytest.raises(ValueError, match="condition"):
        GeneratorBlock(4, normalization="self_modulated")(random_inputs((2, 4, 4, 4)))
