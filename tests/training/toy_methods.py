"""Small methods with the structure of the real ones, for fast tests of the
training loop and of the zoo (tests/zoo/toy_methods.py registers them).

`ToyGAN` has two optimizers built in `compile`, losses written in
`keras.ops` as model methods, replica-scaled losses and a `SeedGenerator`,
like the GAN family; `ToyRotNet` is a single-optimizer pretext task trained
through the standard `compile`/`train_step`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ssl.ops.rotation import rotation_batch


@keras.saving.register_keras_serializable(package="keras_ssl_tests")
class ToyGAN(keras.Model):
    def __init__(self, image_size=8, channels=1, z_dim=8, width=16, seed=0, **kw):
        super().__init__(**kw)
        self.image_size, self.channels = image_size, channels
        self.z_dim, self.width, self.seed = z_dim, width, seed
        self.generator = keras.Sequential(
            [
                keras.Input((z_dim,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(image_size * image_size * channels),
                keras.layers.Activation("tanh"),
                keras.layers.Reshape((image_size, image_size, channels)),
            ],
            name="generator",
        )
        # A pooled feature trunk, like the real discriminators (the zoo's
        # feature extractor cuts the discriminator at `d_pool`).
        self.discriminator = keras.Sequential(
            [
                keras.Input((image_size, image_size, channels)),
                keras.layers.Conv2D(width, 3, padding="same"),
                keras.layers.LeakyReLU(0.2),
                keras.layers.GlobalAveragePooling2D(name="d_pool"),
                keras.layers.Dense(1),
            ],
            name="discriminator",
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(1e-3, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(1e-3, beta_1=0.5)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, x, training=False):
        images = x[0] if isinstance(x, tuple | list) else x
        return self.discriminator(images, training=training)

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(
            ops.softplus(fake_logits)
        )

    def generator_loss(self, fake_logits):
        return ops.mean(ops.softplus(-fake_logits))

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        batch = ops.shape(real)[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        z = self.replica_noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            d_loss = self.discriminator_loss(
                self.discriminator(real, training=True),
                self.discriminator(fake, training=True),
            )
            scaled = self.d_optimizer.scale_loss(d_loss / replicas)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(
            zip(grads, self.discriminator.trainable_variables)
        )
        z = self.replica_noise(batch)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            g_loss = self.generator_loss(self.discriminator(fake, training=True))
            scaled = self.g_optimizer.scale_loss(g_loss / replicas)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def replica_noise(self, batch):
        # Every replica draws the noise of the whole global batch from the
        # shared seed and keeps its own slice, so a step under a strategy
        # sees exactly the noise a single device would.
        context = tf.distribute.get_replica_context()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        replica = 0 if context is None else context.replica_id_in_sync_group
        z = keras.random.normal(
            (batch * replicas, self.z_dim), seed=self.seed_generator
        )
        return z[replica * batch : (replica + 1) * batch]

    def generate(self, n, labels=None, seed=None):
        z = keras.random.normal((n, self.z_dim), seed=seed)
        images = self.generator(z, training=False)
        images = ops.convert_to_numpy(ops.cast(images, "float32"))
        return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "channels": self.channels,
                "z_dim": self.z_dim,
                "width": self.width,
                "seed": self.seed,
            }
        )
        return config


def build_toy_gan(image_size=8, channels=1, num_classes=None, **kwargs):
    return ToyGAN(image_size=image_size, channels=channels, **kwargs)


@keras.saving.register_keras_serializable(package="keras_ssl_tests")
class ToyRotNet(keras.Model):
    def __init__(self, image_size=8, channels=1, width=16, **kw):
        super().__init__(**kw)
        self.image_size, self.channels, self.width = image_size, channels, width
        self.encoder = keras.Sequential(
            [
                keras.Input((image_size, image_size, channels)),
                keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
            ],
            name="encoder",
        )
        self.head = keras.layers.Dense(4)
        self.head.build((None, width))
        self.loss_tracker = keras.metrics.Mean(name="pretext_loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]

    def compile(self, optimizer=None, **kwargs):
        super().compile(optimizer=optimizer or keras.optimizers.SGD(0.1), **kwargs)
        self.optimizer.build(self.trainable_variables)

    def call(self, x, training=False):
        return self.head(self.encoder(x, training=training))

    def pretext_loss(self, labels, logits):
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, logits, True)
        )

    def train_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        rotated, labels = rotation_batch(images)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            logits = self(rotated, training=True)
            loss = self.pretext_loss(labels, logits)
            scaled = self.optimizer.scale_loss(loss / replicas)
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(labels, logits)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "channels": self.channels,
                "width": self.width,
            }
        )
        return config


def build_toy_rotnet(image_size=8, channels=1, num_classes=None, **kwargs):
    return ToyRotNet(image_size=image_size, channels=channels, **kwargs)
