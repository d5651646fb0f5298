import keras
import numpy as np
import pytest

from keras_ssl.architectures import bigan_discriminator, bigan_encoder
from tests.helpers import assert_keras_round_trip, random_inputs


@pytest.mark.parametrize("size", [16, 32])
def test_encoder_maps_images_to_codes(size):
    encoder = bigan_encoder(size, z_dim=12, base_channels=8)
    assert tuple(encoder(random_inputs((3, size, size, 3))).shape) == (3, 12)


def test_discriminator_depends_on_the_code_in_every_layer():
    d = bigan_discriminator(32, z_dim=8, base_channels=8)
    images = random_inputs((2, 32, 32, 3))
    z = np.random.default_rng(0).uniform(-1, 1, (2, 8)).astype("float32")
    outputs = d([images, z])
    assert tuple(outputs["logits"].shape) == (2, 1)
    other = d([images, -z])["logits"]
    assert not np.allclose(outputs["logits"], other)
    projections = [layer for layer in d.layers if layer.name.startswith("z_proj_")]
    assert len(projections) == 3  # one per convolution at 32x32


def test_discriminator_logit_of_an_example_ignores_the_rest_of_the_batch():
    d = bigan_discriminator(16, z_dim=4, base_channels=8, dropout=0.0)
    images = random_inputs((4, 16, 16, 3))
    z = random_inputs((4, 4))
    whole = np.asarray(d([images, z], training=True)["logits"])
    alone = np.asarray(d([images[:1], z[:1]], training=True)["logits"])
    np.testing.assert_allclose(whole[:1], alone, atol=1e-5)


def test_round_trips(tmp_path):
    assert_keras_round_trip(
        bigan_encoder(16, z_dim=4, base_channels=8),
        inputs=random_inputs((2, 16, 16, 3)),
        tmp_path=tmp_path,
    )
    d = bigan_discriminator(16, z_dim=4, base_channels=8)
    assert_keras_round_trip(
        d,
        inputs=[random_inputs((2, 16, 16, 3)), random_inputs((2, 4))],
        tmp_path=tmp_path,
    )


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="image_size"):
        bigan_encoder(24)
    with pytest.raises(ValueError, match="z_dim"):
        bigan_discriminator(32, z_dim=0)
    assert isinstance(bigan_encoder(16, z_dim=2, base_channels=2), keras.Model)
