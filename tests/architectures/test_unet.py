import numpy as np
import pytest

from keras_ssl.architectures import unet_generator
from tests.helpers import assert_keras_round_trip, random_inputs


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_full_size_parameter_count_equals_the_authors():
    # UnetGenerator(3, 3, 8, ngf=64, BatchNorm2d, use_dropout=True).
    assert _trainable(unet_generator(256)) == 54_413_955


def test_paper_structure_at_256():
    g = unet_generator(256, width=4)
    names = [layer.name for layer in g.layers]
    assert sorted(n for n in names if n.endswith("dropout")) == [
        "up4_dropout",
        "up5_dropout",
        "up6_dropout",
    ]
    assert "down0_norm" not in names and "down7_norm" not in names
    assert g.get_layer("down7_conv").output.shape[1:3] == (1, 1)
    assert g.get_layer("down1_lrelu").negative_slope == pytest.approx(0.2)
    # Only the outermost up-convolution has a bias under batch norm.
    assert g.get_layer("up0_conv").use_bias and not g.get_layer("up1_conv").use_bias


@pytest.mark.parametrize("size,channels", [(32, 1), (64, 3)])
def test_shapes_and_range(size, channels):
    g = unet_generator(size, input_channels=channels, output_channels=3, width=4)
    y = np.asarray(g(random_inputs((2, size, size, channels), seed=0)))
    assert y.shape == (2, size, size, 3) and np.abs(y).max() <= 1


def test_dropout_only_while_training():
    g = unet_generator(128, width=4)
    x = random_inputs((1, 128, 128, 3), seed=1)
    np.testing.assert_array_equal(np.asarray(g(x)), np.asarray(g(x)))
    assert not np.allclose(
        np.asarray(g(x, training=True)), np.asarray(g(x, training=True))
    )


def test_round_trip(tmp_path):
    assert_keras_round_trip(
        unet_generator(32, width=4, norm="instance"),
        inputs=random_inputs((2, 32, 32, 3), seed=2),
        tmp_path=tmp_path,
    )


def test_unsupported_sizes_name_the_sizes_that_work():
    with pytest.raises(ValueError, match=r"32, 64, 128, 256.*Received: image_size=48"):
        unet_generator(48)
    with pytest.raises(ValueError, match=r"multiple of 32: \[32, 64, 96"):
        unet_generator(80, num_downs=5)
    with pytest.raises(ValueError, match="num_downs must be an int >= 5"):
        unet_generator(64, num_downs=4)
