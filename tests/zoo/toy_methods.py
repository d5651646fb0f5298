"""Two tiny method models registered under test-only names, so that the zoo's
loading, weights and export paths are tested independently of the papers'
networks."""

import keras

from keras_ssl.methods.registry import _BUILDERS, register_method


class ToyGAN(keras.Model):
    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator

    def call(self, batch, training=False):
        images = batch[0] if isinstance(batch, tuple | list) else batch
        return self.discriminator(images, training=training)


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
    noise = keras.Input((latent_dim,))
    hidden = keras.layers.Dense(image_size * image_size * channels, activation="tanh")(
        noise
    )
    generator = keras.Model(
        noise, keras.layers.Reshape((image_size, image_size, channels))(hidden)
    )
    images = keras.Input((image_size, image_size, channels))
    features = keras.layers.Conv2D(width, 3, activation="relu")(images)
    features = keras.layers.GlobalAveragePooling2D(name="d_pool")(features)
    discriminator = keras.Model(images, keras.layers.Dense(1)(features))
    return ToyGAN(generator, discriminator)


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
