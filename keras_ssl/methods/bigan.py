"""BiGAN: adversarial feature learning with an encoder.

Reference: Donahue, Krahenbuhl & Darrell, "Adversarial Feature Learning",
ICLR 2017 (arXiv 2016).

A generator G maps z ~ U(-1, 1)^d to images, an encoder E maps images to
codes, and a discriminator D sees (image, code) pairs:

    L_D     = E_x[f_real(D(x, E(x)))] + E_z[f_fake(D(G(z), z))]
    L_{G,E} = E_x[f_fake'(D(x, E(x)))] + E_z[f_real'(D(G(z), z))]

with the GAN loss terms of `keras_ssl.losses` (non-saturating by default):
G and E minimise D's loss with the labels swapped, the non-saturating form
of min_{G,E} max_D of the paper. At the optimum E inverts G, so E(x) is a
representation of x; `.encoder` is that representation. Adam 2e-4,
beta1 0.5 for D and for G and E together (the paper's settings; batch 128).

Logged: `d_loss`, `g_loss` (of G and E) and the task metric
`reconstruction_error`, the mean squared error of G(E(x)) against x on the
[0, 1] pixel scale; with `validation_data` Keras logs it on held-out images
as `val_reconstruction_error`.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.bigan import bigan_discriminator, bigan_encoder
from keras_ssl.architectures.dcgan import DCGAN_IMAGE_SIZES, dcgan_generator
from keras_ssl.losses import gan as gan_losses
from keras_ssl.methods import backend_step
from keras_ssl.methods.adversarial import AdversarialModel
from keras_ssl.methods.image_methods import (
    MeanTrackers,
    SubNetworks,
    batch_images,
    check_functional,
    float_images,
    logits_of,
    uint8_images,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.training.distribute import num_replicas, replica_share
from keras_ssl.utils.validation import check_choice, check_int

_TRACKED = ("d_loss", "g_loss", "reconstruction_error")


@keras.saving.register_keras_serializable(package="keras_ssl")
class BiGAN(SubNetworks, MeanTrackers, AdversarialModel):
    """Bidirectional GAN (Donahue et al. 2016); see the module docstring.

    Args:
        generator: a `keras.Model` from z (B, z_dim) to images in [-1, 1].
        encoder: a `keras.Model` from images to codes (B, z_dim); exposed as
            `.encoder`, the representation.
        discriminator: a `keras.Model` from `[images, z]` to logits (B, 1)
            or a dict with "logits".
        loss: GAN loss (`keras_ssl.losses.GAN_LOSSES`).
        seed: seed of the noise drawn in training.

    `call(images)` returns the reconstructions G(E(images)). `fit` takes
    batches of images or `(images, labels)`, whose labels are ignored.

    Example:

    >>> import numpy as np
    >>> model = build_bigan(16, z_dim=8, width=8)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss', 'reconstruction_error']
    >>> model.generate(2, seed=0).shape
    (2, 16, 16, 3)
    """

    NETWORKS = ("generator", "encoder", "discriminator")

    def __init__(
        self,
        generator,
        encoder,
        discriminator,
        loss="non_saturating",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = check_functional(generator, "generator")
        self.encoder = check_functional(encoder, "encoder")
        self.discriminator = check_functional(discriminator, "discriminator")
        self.gan_loss = gan_losses.check_gan_loss(loss)
        self.seed = seed
        self.z_dim = int(generator.inputs[0].shape[-1])
        self.image_shape = tuple(generator.outputs[0].shape[1:])
        if tuple(encoder.inputs[0].shape[1:]) != self.image_shape:
            raise ValueError(
                "The encoder must take the generator's images. Received: generator "
                f"output shape {self.image_shape}, encoder input shape "
                f"{tuple(encoder.inputs[0].shape[1:])}"
            )
        if tuple(encoder.outputs[0].shape[1:]) != (self.z_dim,):
            raise ValueError(
                f"The encoder must output codes of the generator's z_dim "
                f"{self.z_dim}. Received: encoder output shape "
                f"{tuple(encoder.outputs[0].shape[1:])}"
            )
        d_inputs = [tuple(t.shape[1:]) for t in discriminator.inputs]
        if d_inputs != [self.image_shape, (self.z_dim,)]:
            raise ValueError(
                "The discriminator must take [images, z] of shapes "
                f"{[self.image_shape, (self.z_dim,)]}. Received: {d_inputs}"
            )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.track(_TRACKED)
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    # ------------------------------------------------------------ training set-up
    @property
    def generator_variables(self):
        """`g_optimizer` updates the generator and the encoder together."""
        return self.generator.trainable_variables + self.encoder.trainable_variables

    # ------------------------------------------------------------------ network
    def sample_z(self, batch_size):
        """z ~ U(-1, 1)^z_dim; under a strategy, this replica's share."""
        return replica_share(
            lambda n: keras.random.uniform(
                (n, self.z_dim), -1.0, 1.0, seed=self.seed_generator
            ),
            batch_size,
        )

    def discriminate(self, images, z, training=False):
        return logits_of(self.discriminator([images, z], training=training))

    def reconstruct(self, images, training=False):
        """G(E(x)), images in [-1, 1]."""
        return self.generator(
            self.encoder(images, training=training), training=training
        )

    def call(self, inputs, training=False):
        return self.reconstruct(self._images(inputs), training=training)

    def features(self, images, training=False):
        """Encoder codes (B, z_dim), the representation."""
        return self.encoder(images, training=training)

    # ------------------------------------------------------------------- losses
    def _joint_logits(self, images, codes, fakes, z, training):
        # Real and generated pairs go through D in one call.
        logits = self.discriminate(
            ops.concatenate([images, fakes], axis=0),
            ops.concatenate([codes, z], axis=0),
            training=training,
        )
        batch = ops.shape(images)[0]
        return logits[:batch], logits[batch:]

    def discriminator_loss(self, real_logits, fake_logits):
        """L_D: (x, E(x)) pairs are real, (G(z), z) pairs fake."""
        return gan_losses.discriminator_loss(real_logits, fake_logits, self.gan_loss)

    def generator_loss(self, real_logits, fake_logits):
        """L_{G,E}: D's loss with the labels swapped."""
        return gan_losses.discriminator_loss(fake_logits, real_logits, self.gan_loss)

    def reconstruction_error(self, images, reconstructions):
        """Mean squared error of G(E(x)) on the [0, 1] pixel scale."""
        return ops.mean(ops.square((ops.cast(reconstructions, "float32") - images) / 2))

    # ----------------------------------------------------------------- steps
    def _images(self, data):
        return batch_images(data, self.image_shape)

    @backend_step.stateless_on_jax
    def train_step(self, data):
        images = self._images(data)
        batch = ops.shape(images)[0]
        replicas = num_replicas()
        z = self.sample_z(batch)

        def compute():
            codes = self.encoder(images, training=True)
            fakes = self.generator(z, training=True)
            real_logits, fake_logits = self._joint_logits(
                images, codes, fakes, z, training=True
            )
            d_loss = self.discriminator_loss(real_logits, fake_logits)
            g_loss = self.generator_loss(real_logits, fake_logits)
            scaled = (
                self.d_optimizer.scale_loss(d_loss / replicas),
                self.g_optimizer.scale_loss(g_loss / replicas),
            )
            return scaled, (d_loss, g_loss, codes)

        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator_variables
        # Both players' gradients come from the same forward pass, as in
        # the paper's simultaneous updates.
        _, (d_loss, g_loss, codes), (d_gradients, g_gradients) = (
            backend_step.values_and_gradients(compute, [d_variables, g_variables])
        )
        backend_step.apply_gradients(self.d_optimizer, d_gradients, d_variables)
        backend_step.apply_gradients(self.g_optimizer, g_gradients, g_variables)
        reconstructions = self.generator(ops.stop_gradient(codes), training=False)
        return self.record(
            {
                "d_loss": d_loss,
                "g_loss": g_loss,
                "reconstruction_error": self.reconstruction_error(
                    images, reconstructions
                ),
            }
        )

    @backend_step.stateless_on_jax
    def test_step(self, data):
        images = self._images(data)
        batch = ops.shape(images)[0]
        z = self.sample_z(batch)
        codes = self.encoder(images, training=False)
        fakes = self.generator(z, training=False)
        real_logits, fake_logits = self._joint_logits(
            images, codes, fakes, z, training=False
        )
        return self.record(
            {
                "d_loss": self.discriminator_loss(real_logits, fake_logits),
                "g_loss": self.generator_loss(real_logits, fake_logits),
                "reconstruction_error": self.reconstruction_error(
                    images, self.generator(codes, training=False)
                ),
            }
        )

    # ---------------------------------------------------------------- inference
    def generate(self, n, labels=None, seed=None, batch_size=256):
        """`n` images from z ~ U(-1, 1), uint8 (n, H, W, C); `labels` must be None."""
        n = check_int(n, "n", minimum=0)
        if labels is not None:
            raise ValueError(
                "BiGAN's generator is unconditional; labels must be None. "
                f"Received: labels of shape {np.shape(labels)}"
            )
        z = np.random.default_rng(seed).uniform(-1, 1, (n, self.z_dim))
        chunks = [
            np.asarray(
                self.generator(z[i : i + batch_size].astype("float32"), training=False)
            )
            for i in range(0, n, batch_size)
        ]
        if not chunks:
            return np.zeros((0,) + self.image_shape, "uint8")
        return uint8_images(np.concatenate(chunks))

    def encode(self, images, batch_size=256):
        """Codes E(x) (N, z_dim) of uint8 or [-1, 1] float images."""
        images = float_images(images)
        chunks = [
            np.asarray(self.encoder(images[i : i + batch_size], training=False))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.z_dim))

    def preview(self, images):
        """Columns for a sample sheet: input | reconstruction G(E(x)) (uint8)."""
        images = float_images(images)
        codes = self.encode(images)
        reconstructions = np.asarray(self.generator(codes, training=False))
        return [uint8_images(images), uint8_images(reconstructions)]

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(self.networks_config(), loss=self.gan_loss, seed=self.seed)
        return config


@register_method("bigan")
def build_bigan(
    image_size=32,
    channels=3,
    z_dim=200,
    width=64,
    g_width=None,
    e_width=None,
    d_width=None,
    loss="non_saturating",
    seed=None,
):
    """A `BiGAN` with a DCGAN generator, a convolutional encoder and joint D.

    Args:
        image_size: 16, 32, 64 or 128.
        channels: image channels.
        z_dim: latent size (the paper: 200).
        width: base width of all three networks, unless `g_width`,
            `e_width` or `d_width` set one.
        loss, seed: see `BiGAN`.

    Example:

    >>> model = build_bigan(32, z_dim=16, width=8)
    >>> tuple(model.encoder.output.shape)
    (None, 16)
    """
    check_choice(image_size, "image_size", DCGAN_IMAGE_SIZES)
    generator = dcgan_generator(image_size, z_dim, g_width or width, channels)
    encoder = bigan_encoder(image_size, z_dim, e_width or width, channels)
    discriminator = bigan_discriminator(image_size, z_dim, d_width or width, channels)
    return BiGAN(generator, encoder, discriminator, loss=loss, seed=seed, name="bigan")
