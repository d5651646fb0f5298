"""Two tiny method models registered under test-only names, so that the zoo's
loading, weights and export paths are tested independently of the papers'
networks."""

import keras

from keras_ssl.methods.registry import _BUILDERS, register_method
from tests.training.toy_methods import ToyGAN


class ToyEncoderMethod(keras.Model):
    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.head = keras.layers.Dense(4)

    def call(self, batch, training=False):
        images = batch[0] if isinstance(batch, tuple | list) else batch
        features = self.encoder(images, training=training)
        return self.head(keras.ops.mean(features, axis=(1, 2)))


def build_toy_gan(image_size=8, channels=3, latent_dim=4, width=4):
    return ToyGAN(
        image_size=image_size, channels=channels, z_dim=latent_dim, width=width
    )


def build_toy_encoder(image_size=8, channels=3, width=4):
    images = keras.Input((image_size, image_size, channels))
    features = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(images)
    features = keras.layers.BatchNormalization()(features)
    return ToyEncoderMethod(keras.Model(images, features))


for _name, _builder in (("toy_gan", build_toy_gan), ("toy_encoder", build_toy_encoder)):
    if _name not in _BUILDERS:
        register_method(_name)(_builder)

TOY_PRESETS = [
    {
        "name": "toy_gan_tiny",
        "recipe": {
            "method": "toy_gan",
            "model": {"image_size": 8, "latent_dim": 4},
            "data": {"source": "digits"},
            "train": {"batch_size": 8, "steps": 10},
        },
        "description": "test preset",
    },
    {
        "name": "toy_encoder_tiny",
        "recipe": {
            "method": "toy_encoder",
            "model": {"image_size": 8},
            "data": {"source": "digits"},
            "train": {"batch_size": 8, "steps": 10},
        },
    },
]
