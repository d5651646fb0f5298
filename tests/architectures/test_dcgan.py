import numpy as np
import pytest

from keras_ssl.architectures import dcgan_discriminator, dcgan_generator
from tests.helpers import random_inputs


@pytest.mark.parametrize("image_size", [16, 32, 64])
def test_shapes(image_size):
    g = dcgan_generator(image_size, z_dim=8, base_channels=4, channels=1)
    d = dcgan_discriminator(image_size, base_channels=4, channels=1, rotation_head=True)
    images = np.asarray(g(random_inputs((2, 8), seed=0), training=True))
    assert images.shape == (2, image_size, image_size, 1)
    assert np.abs(images).max() <= 1
    out = d(images)
    assert tuple(out["logits"].shape) == (2, 1)
    assert tuple(out["rotation_logits"].shape) == (2, 4)


def test_bad_image_size_is_a_clear_error():
    with pytest.raises(ValueError, match="Received: image_size=48"):
        dcgan_generator(48)
