import keras
import numpy as np
import pytest

from keras_ssl.architectures import nin_encoder
from tests.helpers import assert_keras_round_trip, random_inputs


@pytest.mark.parametrize("num_blocks", [3, 4, 5])
def test_named_blocks_and_resolutions(num_blocks):
    encoder = nin_encoder((32, 32, 3), num_blocks=num_blocks, width=12)
    assert tuple(encoder.get_layer("block1").output.shape) == (None, 16, 16, 6)
    for index in range(2, num_blocks + 1):
        assert tuple(encoder.get_layer(f"block{index}").output.shape) == (
            None,
            8,
            8,
            12,
        )
    assert encoder.output is encoder.get_layer(f"block{num_blocks}").output


def test_paper_width_has_the_rotnet_layer_sizes():
    encoder = nin_encoder((32, 32, 3), num_blocks=4)
    kernels = [
        tuple(layer.kernel.shape)
        for layer in encoder.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert kernels[:6] == [
        (5, 5, 3, 192),
        (1, 1, 192, 160),
        (1, 1, 160, 96),
        (5, 5, 96, 192),
        (1, 1, 192, 192),
        (1, 1, 192, 192),
    ]
    assert kernels[6] == (3, 3, 192, 192) and len(kernels) == 12


def test_pooled_is_the_mean_of_the_feature_map():
    fmap = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    pooled = nin_encoder((16, 16, 3), num_blocks=3, width=8, pooled=True)
    pooled.set_weights(fmap.get_weights())
    x = random_inputs((2, 16, 16, 3))
    np.testing.assert_allclose(
        pooled(x), np.asarray(fmap(x)).mean(axis=(1, 2)), atol=1e-5
    )


def test_round_trip(tmp_path):
    encoder = nin_encoder((16, 16, 3), num_blocks=3, width=8)
    assert_keras_round_trip(encoder, input_shape=(2, 16, 16, 3), tmp_path=tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_blocks must be an int from 3 to 5"):
        nin_encoder(num_blocks=6)
    with pytest.raises(ValueError, match="input_shape"):
        nin_encoder(input_shape=(32, 32))
    with pytest.raises(ValueError, match="at least 4x4"):
        nin_encoder(input_shape=(2, 2, 3))


def test_matches_the_authors_layers_eps_and_padded_pooling():
    encoder = nin_encoder((32, 32, 3), num_blocks=4, width=8)
    norms = [
        layer
        for layer in encoder.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 12 and all(layer.epsilon == 1e-5 for layer in norms)
    assert all(
        not layer.use_bias
        for layer in encoder.layers
        if isinstance(layer, keras.layers.Conv2D)
    )
    # PyTorch's AvgPool2d(3, 2, padding=1) counts the zero padding: a map of
    # ones pools to 4/9 in the top-left corner (2x2 of ones in a 3x3 window).
    pad = encoder.get_layer("block2_pad")
    pool = encoder.get_layer("block2")
    pooled = np.asarray(pool(pad(np.ones((1, 16, 16, 1), "float32"))))
    assert pooled.shape == (1, 8, 8, 1)
    np.testing.assert_allclose(pooled[0, 0, 0, 0], 4 / 9, rtol=1e-6)
    np.testing.assert_allclose(pooled[0, 1, 1, 0], 1.0, rtol=1e-6)


def test_input_normalization_maps_images_to_the_authors_inputs():
    mean, std = [0.5, 0.4, 0.3], [0.25, 0.2, 0.1]
    encoder = nin_encoder(
        (16, 16, 3), num_blocks=3, width=8, input_mean=mean, input_std=std
    )
    layer = encoder.get_layer("input_normalization")
    x = random_inputs((2, 16, 16, 3))
    expected = ((x + 1) / 2 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="input_mean"):
        nin_encoder((16, 16, 3), num_blocks=3, input_mean=mean)
    with pytest.raises(ValueError, match="one value per channel"):
        nin_encoder((16, 16, 3), num_blocks=3, input_mean=[0.5], input_std=[0.2])
