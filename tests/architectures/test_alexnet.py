import keras
import pytest

from keras_ssl.architectures import alexnet_encoder
from tests.helpers import assert_keras_round_trip


def test_named_stages_for_cifar():
    encoder = alexnet_encoder((32, 32, 3), width_multiplier=0.25)
    sizes = [encoder.get_layer(f"conv{i}").output.shape[1] for i in range(1, 6)]
    assert sizes == [16, 8, 8, 8, 4]
    channels = [encoder.get_layer(f"conv{i}").output.shape[-1] for i in range(1, 6)]
    assert channels == [24, 64, 96, 96, 64]


def test_full_width_has_alexnet_channels_and_larger_images_use_stride_2():
    encoder = alexnet_encoder((96, 96, 3))
    convs = [
        layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert [c.filters for c in convs] == [96, 256, 384, 384, 256]
    assert convs[0].strides == (2, 2)
    assert tuple(encoder.output.shape) == (None, 6, 6, 256)


def test_pooled_output_is_a_vector():
    encoder = alexnet_encoder((32, 32, 3), width_multiplier=0.125, pooled=True)
    assert tuple(encoder.output.shape) == (None, 32)


def test_round_trip(tmp_path):
    encoder = alexnet_encoder((32, 32, 3), width_multiplier=0.125)
    assert_keras_round_trip(encoder, input_shape=(2, 32, 32, 3), tmp_path=tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="width_multiplier must be positive"):
        alexnet_encoder(width_multiplier=0)
    with pytest.raises(ValueError, match="stem_stride"):
        alexnet_encoder(stem_stride=3)
