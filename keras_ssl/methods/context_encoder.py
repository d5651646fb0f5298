"""Context encoders: feature learning by inpainting.

Reference: Pathak, Krahenbuhl, Donahue, Darrell & Efros, "Context Encoders:
Feature Learning by Inpainting", CVPR 2016.

A region M of each image x is removed (filled with a constant) and the
network F = decoder(encoder(.)) paints it back from the context. With the
hole grown by an overlap border of 4 pixels, M+ = dilate(M, 4):

    L_rec = sum(W * (F(x') - x)^2) / (|M+| C),  x' = (1 - M) x + M * fill
            W = 1 in the hole, 10 on the border M+ - M (the paper's 10x)
    L_adv = non-saturating GAN loss of a discriminator D that tells real
            images from completed ones (1 - M) x + M F(x')
    L_F   = 0.999 L_rec + 0.001 L_adv

D minimises its own GAN loss. The network is an encoder (strided 4x4
convolutions down to 4x4), the paper's channel-wise fully connected
bottleneck (`keras_ssl.layers.ChannelWiseDense`) followed by a stride-1
convolution that mixes channels, and a decoder of transposed convolutions;
Adam 2e-4, beta1 0.5 for both networks. The encoder is the representation.

Differences from the paper: the decoder paints the whole image (the loss
only looks at M+), so any mask shape works (the authors' central-region
model outputs only the centre); D judges the completed image rather than
the central crop; masks are central squares, random squares or smooth
random regions (`keras_ssl.ops.masks`), the last from thresholded noise
rather than PASCAL segmentations. The released code replaced the
channel-wise layer with a 4x4 convolution; here it is the paper's layer.

Logged: `g_loss`, `d_loss`, `reconstruction_loss`, `adversarial_loss`, and
the task metrics `masked_l2` (mean squared error over the removed pixels,
on the [0, 1] pixel scale) and `psnr` (per image over the removed pixels,
in dB); with `validation_data` Keras logs them on held-out images as
`val_masked_l2` / `val_psnr`.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.dcgan import DCGAN_IMAGE_SIZES, dcgan_discriminator
from keras_ssl.layers.channel_wise_dense import ChannelWiseDense
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
from keras_ssl.ops.masks import MASK_KINDS, dilate_mask, make_masks
from keras_ssl.training.distribute import num_replicas, replica_share
from keras_ssl.utils.validation import (
    check_choice,
    check_int,
    check_number,
    check_weight,
)

_TRACKED = (
    "g_loss",
    "d_loss",
    "reconstruction_loss",
    "adversarial_loss",
    "masked_l2",
    "psnr",
)


# Kept under their former names (instance discrimination imports them).
_check_model = check_functional
_float_images = float_images
_uint8_images = uint8_images


@keras.saving.register_keras_serializable(package="keras_ssl")
class ContextEncoder(SubNetworks, MeanTrackers, AdversarialModel):
    """Context encoder (Pathak et al. 2016); see the module docstring.

    Args:
        encoder: a `keras.Model` from images (B, H, W, C) in [-1, 1] to a
            feature map; exposed as `.encoder`, the representation.
        decoder: a `keras.Model` from the encoder's feature map to images
            (B, H, W, C) in [-1, 1] (holding the bottleneck).
        discriminator: a `keras.Model` from images to logits (B, 1) or to a
            dict with "logits".
        mask: "center", "squares" or "regions" (`keras_ssl.ops.make_masks`).
        mask_options: keyword arguments of the mask function (e.g.
            `{"coverage": [0.2, 0.3]}`).
        reconstruction_weight: weight of L_rec (0.999).
        adversarial_weight: weight of L_adv (0.001).
        overlap: border (pixels) around the hole in the loss (4).
        overlap_weight: loss weight of the border relative to the hole (10).
        fill_value: value written into the removed pixels (0, mid-grey).
        loss: GAN loss of D and of L_adv (`keras_ssl.losses.GAN_LOSSES`).
        seed: seed of the random masks.

    `call(images)` returns the network's painting of images whose hole is
    already filled (`mask_images`); `inpaint(images, masks)` does the whole
    completion. `fit` takes batches of images or `(images, labels)`, whose
    labels are ignored.

    Example:

    >>> import numpy as np
    >>> model = build_context_encoder(16, width=8)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)[:3]
    ['adversarial_loss', 'd_loss', 'g_loss']
    >>> model.inpaint(images, model.sample_masks(4)).shape
    (4, 16, 16, 3)
    """

    NETWORKS = ("encoder", "decoder", "discriminator")

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        mask="center",
        mask_options=None,
        reconstruction_weight=0.999,
        adversarial_weight=0.001,
        overlap=4,
        overlap_weight=10.0,
        fill_value=0.0,
        loss="non_saturating",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = check_functional(encoder, "encoder")
        self.decoder = check_functional(decoder, "decoder")
        self.discriminator = check_functional(discriminator, "discriminator")
        self.mask = check_choice(mask, "mask", MASK_KINDS)
        self.mask_options = dict(mask_options or {})
        self.reconstruction_weight = check_weight(
            reconstruction_weight, "reconstruction_weight"
        )
        self.adversarial_weight = check_weight(adversarial_weight, "adversarial_weight")
        self.overlap = check_int(overlap, "overlap", minimum=0)
        self.overlap_weight = check_weight(overlap_weight, "overlap_weight")
        self.fill_value = check_number(fill_value, "fill_value", -1.0, 1.0)
        self.gan_loss = gan_losses.check_gan_loss(loss)
        self.seed = seed
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        if len(self.image_shape) != 3 or None in self.image_shape:
            raise ValueError(
                "encoder must take images of a known size (H, W, C). "
                f"Received: encoder input shape={self.image_shape}"
            )
        feature_shape = tuple(encoder.outputs[0].shape[1:])
        if tuple(decoder.inputs[0].shape[1:]) != feature_shape:
            raise ValueError(
                "decoder must take the encoder's output. Received: encoder output "
                f"shape {feature_shape}, decoder input shape "
                f"{tuple(decoder.inputs[0].shape[1:])}"
            )
        for name, shape in (
            ("decoder output", tuple(decoder.outputs[0].shape[1:])),
            ("discriminator input", tuple(discriminator.inputs[0].shape[1:])),
        ):
            if shape != self.image_shape:
                raise ValueError(
                    f"The {name} must have the images' shape {self.image_shape}. "
                    f"Received: {shape}"
                )
        # Fail now on bad mask options rather than inside the first step.
        make_masks(self.mask, 1, self.image_shape[:2], seed=0, **self.mask_options)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.track(_TRACKED)
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    # ------------------------------------------------------------ training set-up
    @property
    def generator_variables(self):
        """`g_optimizer` updates the inpainting network (encoder + decoder)."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    # ------------------------------------------------------------------ network
    def complete(self, masked_images, training=False):
        """The network's painting F(x') of images with filled holes."""
        return self.decoder(
            self.encoder(masked_images, training=training), training=training
        )

    def call(self, inputs, training=False):
        return self.complete(self._images(inputs), training=training)

    def features(self, images, training=False):
        """Globally pooled encoder features (B, D)."""
        return ops.mean(self.encoder(images, training=training), axis=(1, 2))

    def sample_masks(self, batch_size, seed=None):
        """Masks (B, H, W, 1) of this model's kind; 1 marks removed pixels.

        `seed=None` draws from the model's seed generator (training); an int
        gives the same masks every time.
        """
        if seed is None:
            seed = self.seed_generator
        return make_masks(
            self.mask, batch_size, self.image_shape[:2], seed=seed, **self.mask_options
        )

    def mask_images(self, images, masks):
        """Images with the masked pixels replaced by `fill_value`."""
        masks = ops.cast(masks, images.dtype)
        return images * (1.0 - masks) + self.fill_value * masks

    def discriminate(self, images, training=False):
        return logits_of(self.discriminator(images, training=training))

    # ------------------------------------------------------------------- losses
    def loss_weights(self, masks):
        """Per-pixel L2 weights: 1 in the hole, `overlap_weight` on its border."""
        grown = dilate_mask(masks, self.overlap)
        return masks + self.overlap_weight * (grown - masks), grown

    def reconstruction_loss(self, images, predictions, masks):
        """L_rec: weighted squared error over the grown hole, per pixel and channel."""
        weights, grown = self.loss_weights(masks)
        squared = ops.square(ops.cast(predictions, "float32") - images)
        channels = ops.cast(ops.shape(images)[-1], "float32")
        total = ops.sum(weights * squared)
        return total / ops.maximum(ops.sum(grown) * channels, 1.0)

    def adversarial_loss(self, fake_logits):
        """L_adv: the GAN generator loss of D's logits on completed images."""
        return gan_losses.generator_loss(fake_logits, self.gan_loss)

    def generator_loss(self, images, predictions, masks, fake_logits):
        """L_F = w_rec L_rec + w_adv L_adv and its terms."""
        reconstruction = self.reconstruction_loss(images, predictions, masks)
        adversarial = self.adversarial_loss(fake_logits)
        total = (
            self.reconstruction_weight * reconstruction
            + self.adversarial_weight * adversarial
        )
        return total, {
            "reconstruction_loss": reconstruction,
            "adversarial_loss": adversarial,
        }

    def discriminator_loss(self, real_logits, fake_logits):
        """D's GAN loss on real and completed images."""
        return gan_losses.discriminator_loss(real_logits, fake_logits, self.gan_loss)

    def masked_metrics(self, images, predictions, masks):
        """`masked_l2` and `psnr` of the removed pixels, on the [0, 1] scale."""
        squared = ops.square((ops.cast(predictions, "float32") - images) / 2.0) * masks
        channels = ops.cast(ops.shape(images)[-1], "float32")
        counts = ops.sum(masks, axis=(1, 2, 3)) * channels
        per_image = ops.sum(squared, axis=(1, 2, 3)) / ops.maximum(counts, 1.0)
        l2 = ops.sum(squared) / ops.maximum(ops.sum(counts), 1.0)
        psnr = -10.0 * ops.log(ops.maximum(per_image, 1e-10)) / np.log(10.0)
        return {"masked_l2": l2, "psnr": ops.mean(psnr)}

    # ----------------------------------------------------------------- steps
    def _images(self, data):
        return batch_images(data, self.image_shape)

    def _masks_for(self, images):
        batch = ops.shape(images)[0]
        if self.mask == "center":
            return self.sample_masks(batch)
        return replica_share(self.sample_masks, batch)

    def _minimize(self, optimizer, variables, compute_loss):
        """One update of `variables` on `compute_loss() -> (loss, aux)`."""
        replicas = num_replicas()

        def compute():
            loss, aux = compute_loss()
            return optimizer.scale_loss(loss / replicas), (loss, aux)

        _, (loss, aux), gradients = backend_step.value_and_gradients(compute, variables)
        backend_step.apply_gradients(optimizer, gradients, variables)
        return loss, aux

    @backend_step.stateless_on_jax
    def train_step(self, data):
        images = self._images(data)
        masks = self._masks_for(images)
        masked = self.mask_images(images, masks)

        def generator_loss():
            predictions = self.complete(masked, training=True)
            completed = (
                images * (1.0 - masks) + ops.cast(predictions, "float32") * masks
            )
            fake_logits = self.discriminate(completed, training=True)
            g_loss, terms = self.generator_loss(images, predictions, masks, fake_logits)
            return g_loss, (terms, predictions, completed)

        g_loss, (terms, predictions, completed) = self._minimize(
            self.g_optimizer, self.generator_variables, generator_loss
        )
        completed = ops.stop_gradient(completed)
        batch = ops.shape(images)[0]

        def discriminator_loss():
            logits = self.discriminate(
                ops.concatenate([images, completed], axis=0), training=True
            )
            return self.discriminator_loss(logits[:batch], logits[batch:]), None

        d_loss, _ = self._minimize(
            self.d_optimizer, self.discriminator.trainable_variables, discriminator_loss
        )
        logs = {"g_loss": g_loss, "d_loss": d_loss, **terms}
        logs.update(self.masked_metrics(images, predictions, masks))
        return self.record(logs)

    @backend_step.stateless_on_jax
    def test_step(self, data):
        images = self._images(data)
        masks = self._masks_for(images)
        predictions = self.complete(self.mask_images(images, masks), training=False)
        completed = images * (1.0 - masks) + ops.cast(predictions, "float32") * masks
        batch = ops.shape(images)[0]
        logits = self.discriminate(
            ops.concatenate([images, completed], axis=0), training=False
        )
        g_loss, terms = self.generator_loss(images, predictions, masks, logits[batch:])
        logs = {
            "g_loss": g_loss,
            "d_loss": self.discriminator_loss(logits[:batch], logits[batch:]),
            **terms,
        }
        logs.update(self.masked_metrics(images, predictions, masks))
        return self.record(logs)

    # ---------------------------------------------------------------- inference
    def inpaint(self, images, masks, batch_size=128):
        """Fill the `masks` regions of `images` from their context.

        Args:
            images: (N, H, W, C) uint8 in [0, 255] or float in [-1, 1].
            masks: (N, H, W) or (N, H, W, 1), 1 (or True) where pixels are
                to be filled in.
            batch_size: images per network call.

        Returns:
            The completed images, kept pixels unchanged, in the input's
            format (uint8 in, uint8 out; float in, float in [-1, 1] out).
        """
        is_uint8 = np.asarray(images).dtype == np.uint8
        images = float_images(images)
        masks = np.asarray(ops.convert_to_numpy(masks), "float32")
        if masks.ndim == 3:
            masks = masks[..., None]
        if masks.shape != images.shape[:3] + (1,):
            raise ValueError(
                "masks must have shape (N, H, W) or (N, H, W, 1) matching images "
                f"{images.shape}. Received: masks.shape={masks.shape}"
            )
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"images must have shape (N, {', '.join(map(str, self.image_shape))})."
                f" Received: images.shape={images.shape}"
            )
        chunks = []
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size]
            m = masks[start : start + batch_size]
            predicted = self.complete(self.mask_images(x, m), training=False)
            predicted = np.asarray(ops.convert_to_numpy(predicted), "float32")
            chunks.append(x * (1.0 - m) + predicted * m)
        completed = (
            np.concatenate(chunks) if chunks else np.zeros_like(images, "float32")
        )
        return uint8_images(completed) if is_uint8 else completed

    def preview(self, images, seed=0):
        """Columns for a sample sheet: masked input | inpainted | original (uint8)."""
        images = float_images(images)
        masks = np.asarray(self.sample_masks(len(images), seed=seed))
        masked = np.asarray(self.mask_images(images, masks))
        return [
            uint8_images(masked),
            uint8_images(self.inpaint(images, masks)),
            uint8_images(images),
        ]

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update(self.networks_config())
        config.update(
            {
                "mask": self.mask,
                "mask_options": dict(self.mask_options),
                "reconstruction_weight": self.reconstruction_weight,
                "adversarial_weight": self.adversarial_weight,
                "overlap": self.overlap,
                "overlap_weight": self.overlap_weight,
                "fill_value": self.fill_value,
                "loss": self.gan_loss,
                "seed": self.seed,
            }
        )
        return config


def context_encoder_networks(image_size=32, channels=3, width=64, bottleneck_size=4):
    """The encoder and decoder (with the channel-wise bottleneck) of the paper.

    Encoder: 4x4 stride-2 convolutions from `image_size` down to
    `bottleneck_size`, widths doubling from `width`, batch norm after the
    first, LeakyReLU(0.2) (named `act_1`, `act_2`, ..., the layers a linear
    probe reads). Decoder: `ChannelWiseDense`, a stride-1 1x1
    convolution that mixes channels, then 4x4 stride-2 transposed
    convolutions with batch norm and ReLU back to the image size, tanh.

    Example:

    >>> encoder, decoder = context_encoder_networks(32, width=8)
    >>> tuple(encoder.output.shape), tuple(decoder.output.shape)
    ((None, 4, 4, 32), (None, 32, 32, 3))
    """
    image_size = check_int(image_size, "image_size", minimum=2)
    width = check_int(width, "width")
    channels = check_int(channels, "channels")
    bottleneck_size = check_int(bottleneck_size, "bottleneck_size", minimum=1)
    steps = 0
    size = image_size
    while size > bottleneck_size and size % 2 == 0:
        size //= 2
        steps += 1
    if size != bottleneck_size or steps == 0:
        raise ValueError(
            "image_size must be bottleneck_size times a power of 2 (>= 2). "
            f"Received: image_size={image_size}, bottleneck_size={bottleneck_size}"
        )
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    for i in range(steps):
        x = keras.layers.Conv2D(
            width * 2**i, 4, strides=2, padding="same", name=f"conv_{i + 1}"
        )(x)
        if i > 0:
            x = keras.layers.BatchNormalization(name=f"bn_{i + 1}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"act_{i + 1}")(x)
    encoder = keras.Model(images, x, name="encoder")
    feature_channels = width * 2 ** (steps - 1)
    features = keras.Input((bottleneck_size, bottleneck_size, feature_channels))
    x = ChannelWiseDense(name="channel_wise_dense")(features)
    x = keras.layers.Conv2D(feature_channels, 1, name="channel_mix")(x)
    x = keras.layers.BatchNormalization(name="channel_mix_bn")(x)
    x = keras.layers.ReLU()(x)
    for i in reversed(range(steps - 1)):
        x = keras.layers.Conv2DTranspose(
            width * 2**i, 4, strides=2, padding="same", name=f"up_{steps - i - 1}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"up_bn_{steps - i - 1}")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", name="final_up"
    )(x)
    outputs = keras.layers.Activation("tanh", name="images")(x)
    decoder = keras.Model(features, outputs, name="decoder")
    return encoder, decoder


@register_method("context_encoder")
def build_context_encoder(
    image_size=32,
    channels=3,
    width=64,
    d_width=None,
    mask="center",
    mask_options=None,
    reconstruction_weight=0.999,
    adversarial_weight=0.001,
    overlap=4,
    overlap_weight=10.0,
    seed=None,
):
    """A `ContextEncoder` with the paper's networks and a DCGAN discriminator.

    Args:
        image_size: 16, 32, 64 or 128 (the bottleneck is 4x4).
        channels: image channels.
        width: width of the encoder's first convolution (doubling after).
        d_width: the discriminator's base width (default `width`).
        mask, mask_options, reconstruction_weight, adversarial_weight,
            overlap, overlap_weight, seed: see `ContextEncoder`.

    Example:

    >>> model = build_context_encoder(32, width=8)
    >>> tuple(model.encoder.output.shape)
    (None, 4, 4, 32)
    """
    check_choice(image_size, "image_size", DCGAN_IMAGE_SIZES)
    encoder, decoder = context_encoder_networks(image_size, channels, width)
    discriminator = dcgan_discriminator(
        image_size, d_width or width, channels, name="discriminator"
    )
    return ContextEncoder(
        encoder,
        decoder,
        discriminator,
        mask=mask,
        mask_options=mask_options,
        reconstruction_weight=reconstruction_weight,
        adversarial_weight=adversarial_weight,
        overlap=overlap,
        overlap_weight=overlap_weight,
        seed=seed,
        name="context_encoder",
    )
