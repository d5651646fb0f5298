import numpy as np
import pytest

from keras_ssl.architectures import cifar_resnet
from tests.helpers import assert_keras_round_trip


def test_resnet18_matches_the_standard_parameter_count():
    # The usual CIFAR ResNet-18 (3x3 stem, no max pooling) has 11,173,962
    # trainable parameters including its 10-way classifier of 5,130.
    encoder = cifar_resnet(18, (32, 32, 3), pooled=True)
    trainable = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
    assert trainable == 11_173_962 - 5_130
    assert tuple(encoder.output.shape) == (None, 512)


@pytest.mark.parametrize(
    "depth, out_channels, blocks", [(18, 64, 8), (34, 64, 16), (50, 256, 16)]
)
def test_stages_and_block_counts(depth, out_channels, blocks):
    encoder = cifar_resnet(depth, (32, 32, 3), width=8)
    sizes = [encoder.get_layer(f"stage{i}").output.shape[1] for i in range(1, 5)]
    assert sizes == [32, 16, 8, 4]
    assert encoder.get_layer("stem").output.shape[1:] == (32, 32, 8)
    assert tuple(encoder.output.shape) == (None, 4, 4, out_channels)
    adds = [layer for layer in encoder.layers if layer.name.endswith("_add")]
    assert len(adds) == blocks


def test_round_trip(tmp_path):
    encoder = cifar_resnet(18, (16, 16, 3), width=4)
    assert_keras_round_trip(encoder, input_shape=(2, 16, 16, 3), tmp_path=tmp_path)


def test_bad_depth():
    with pytest.raises(ValueError, match=r"depth must be one of \(18, 34, 50\)"):
        cifar_resnet(depth=20)
