import keras
import numpy as np
import pytest

from keras_ssl.architectures import fid_inception_v3
from keras_ssl.architectures.fid_inception import BLOCK_LAYERS
from tests.helpers import assert_keras_round_trip


@pytest.fixture(scope="module")
def network(fid_inception_network):
    # Shared with the converter's tests: these tests hold for any weights.
    return fid_inception_network


def test_parameter_count_and_outputs(network):
    trainable = sum(int(np.prod(v.shape)) for v in network.trainable_weights)
    assert trainable == 23_850_960
    # Plus the moving mean and variance of 17,216 batch-norm channels.
    assert network.count_params() == 23_850_960 + 2 * 17_216
    out = network.predict_on_batch(np.zeros((2, 40, 24, 3), "float32"))
    assert out["features"].shape == (2, 2048)
    assert out["logits"].shape == (2, 1008)
    shapes = [tuple(network.get_layer(n).output.shape[1:]) for n in BLOCK_LAYERS]
    assert shapes == [(73, 73, 64), (35, 35, 192), (17, 17, 768)]


def test_the_fid_specific_blocks(network):
    layers = {layer.name: layer for layer in network.layers}
    # Eleven 'same' average pools (Mixed_5b..5d, 6b..6e, 7b), no padding
    # counted, and a max pool in Mixed_7c's pool branch.
    averages = [
        n for n, la in layers.items() if la.__class__.__name__ == "AveragePooling2D"
    ]
    assert len(averages) == 8 and "Mixed_7c.avg_pool" not in layers
    assert all(layers[n].padding == "same" for n in averages)
    assert layers["Mixed_7c.max_pool"].padding == "same"
    assert layers["Mixed_7c.max_pool"].strides == (1, 1)
    ones = np.ones((1, 5, 5, 2), "float32")
    np.testing.assert_allclose(layers["Mixed_5b.avg_pool"](ones), ones, atol=1e-7)
    # Unpadded stride-2 convolutions; batch norm epsilon 1e-3, no conv bias.
    for name in (
        "Conv2d_1a_3x3",
        "Mixed_6a.branch3x3",
        "Mixed_6a.branch3x3dbl_3",
        "Mixed_7a.branch3x3_2",
        "Mixed_7a.branch7x7x3_4",
    ):
        conv = layers[f"{name}.conv"]
        assert conv.strides == (2, 2) and conv.padding == "valid", name
    assert layers["Conv2d_2a_3x3.conv"].padding == "valid"
    assert layers["Conv2d_4a_3x3.conv"].padding == "valid"
    convs = [la for la in network.layers if isinstance(la, keras.layers.Conv2D)]
    assert len(convs) == 94 and not any(c.use_bias for c in convs)
    bns = [
        la for la in network.layers if isinstance(la, keras.layers.BatchNormalization)
    ]
    assert {bn.epsilon for bn in bns} == {1e-3}
    assert layers["Mixed_6b.branch7x7_2.conv"].kernel_size == (1, 7)
    assert layers["Mixed_6b.branch7x7dbl_2.conv"].kernel_size == (7, 1)
    assert layers["Mixed_7b.branch3x3_2b.conv"].kernel_size == (3, 1)


def test_resize_is_an_identity_at_299_and_batches_are_independent(network):
    fixed = fid_inception_v3(resize_input=False)
    fixed.set_weights(network.get_weights())
    assert fixed.input_shape == (None, 299, 299, 3)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 299, 299, 3))
    images = images.astype("float32")
    together = network.predict_on_batch(images)["features"]
    np.testing.assert_allclose(
        fixed.predict_on_batch(images)["features"], together, rtol=1e-5, atol=1e-5
    )
    alone = network.predict_on_batch(images[1:])["features"]
    np.testing.assert_allclose(alone[0], together[1], rtol=1e-5, atol=1e-5)


def test_arguments_are_checked():
    with pytest.raises(TypeError, match="resize_input"):
        fid_inception_v3(resize_input=1)


def test_round_trip(network, tmp_path):
    images = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3))
    assert_keras_round_trip(network, inputs=images.astype("float32"), tmp_path=tmp_path)
