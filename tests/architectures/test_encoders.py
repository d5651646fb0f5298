import keras
import pytest

from keras_ssl.architectures import build_encoder, nin_encoder, vector_pooling


def test_vector_pooling_handles_maps_sequences_and_vectors():
    maps = nin_encoder((16, 16, 3), 3, width=8)
    layer, dim = vector_pooling(maps)
    assert dim == 8 and isinstance(layer, keras.layers.GlobalAveragePooling2D)
    inputs = keras.Input((5, 7))
    layer, dim = vector_pooling(keras.Model(inputs, inputs))
    assert dim == 7 and isinstance(layer, keras.layers.GlobalAveragePooling1D)
    inputs = keras.Input((6,))
    layer, dim = vector_pooling(keras.Model(inputs, inputs))
    assert dim == 6 and isinstance(layer, keras.layers.Identity)


def test_unpoolable_encoders_are_clear_errors():
    inputs = keras.Input((4, 4, 4, 2))
    with pytest.raises(ValueError, match="cannot be pooled"):
        vector_pooling(keras.Model(inputs, inputs))
    with pytest.raises(TypeError, match="encoder must be a keras.Model"):
        vector_pooling("nin")


def test_build_encoder_by_name_and_checks_a_given_model():
    encoder = build_encoder("resnet18", (16, 16, 3), {"width": 4})
    assert tuple(encoder.inputs[0].shape) == (None, 16, 16, 3)
    with pytest.raises(ValueError, match="must take inputs of shape"):
        build_encoder(encoder, (32, 32, 3))
    with pytest.raises(ValueError, match="one of"):
        build_encoder("vgg", (32, 32, 3))
