"""SS-GAN: a GAN whose discriminator also predicts image rotations.

Chen, Zhai, Ritter, Lucic & Houlsby, "Self-Supervised GANs via Auxiliary
Rotation Loss", CVPR 2019 (code: google/compare_gan).

With `Q_D(r | x)` D's rotation head, `x^r` image x rotated by r * 90 degrees
and `L_D`, `L_G` the GAN losses on upright images:

    D minimises  L_D + beta  * E_{x ~ data, r}[-log Q_D(r | x^r)]
    G minimises  L_G + alpha * E_{z, r}[-log Q_D(r | G(z)^r)]

with beta = 1.0 and alpha = 0.2. The generator uses self-modulated batch
norm (sBN, gamma and beta from z).

Rotation scheme: compare_gan's. The GAN loss uses the whole upright batch;
the last quarter of the real (resp. fake) batch is rotated by 0, 90, 180 and
270 degrees (`keras_ssl.ops.rotation_batch`) and those B images (one quarter,
all four rotations) feed the rotation loss. We follow compare_gan rather than
Mimicry (which rotates each quarter of the batch by a different angle)
because compare_gan is the authors' code behind the published numbers, and
because showing the rotation head every image in all four orientations
means the only signal that separates the four copies is the orientation
itself (no per-image content can stand in for the label). Each D (resp. G)
update runs D once on real, fake and rotated images together, so the batch
(per D update) must be divisible by 4.
"""

import keras
from keras import ops

from keras_ssl.methods.gan import GAN, method_networks, split_options
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.common import accuracy
from keras_ssl.ops.rotation import rotation_batch
from keras_ssl.utils.validation import check_weight


def rotate_quarter(images):
    """compare_gan's rotated batch: the last quarter of `images` in 4 rotations.

    Returns `(rotated, labels)`, rotated (4 * (B // 4), H, W, C) and labels
    int32 with label r for the copies rotated by r * 90 degrees.

    Example:

    >>> import numpy as np
    >>> rotated, labels = rotate_quarter(np.zeros((8, 4, 4, 1), "float32"))
    >>> tuple(rotated.shape), [int(v) for v in labels]
    ((8, 4, 4, 1), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    quarter = ops.shape(images)[0] // 4
    return rotation_batch(images[ops.shape(images)[0] - quarter :])


def cross_entropy(labels, logits):
    """Per-example sparse softmax cross-entropy, computed in float32."""
    return keras.losses.sparse_categorical_crossentropy(
        labels, ops.cast(logits, "float32"), from_logits=True
    )


@keras.saving.register_keras_serializable(package="keras_ssl")
class SSGAN(GAN):
    """Self-supervised GAN with the auxiliary rotation loss (module docstring).

    Args:
        generator: G from z (and labels for conditional subclasses).
        discriminator: D returning a dict with "logits" (B, 1) and
            "rotation_logits" (B, 4).
        loss: the GAN loss ("non_saturating" in compare_gan's CIFAR runs).
        alpha: weight of the rotation loss on generated images in G's loss.
        beta: weight of the rotation loss on real images in D's loss.
        n_disc, gp_weight, ema_decay, seed: see `GAN`.

    Example:

    >>> gan = build_ssgan(32, channels=1, width=8, z_dim=16)
    >>> gan.compile()
    >>> gan.generate(2, seed=0).shape
    (2, 32, 32, 1)
    """

    def __init__(
        self,
        generator,
        discriminator,
        loss="non_saturating",
        alpha=0.2,
        beta=1.0,
        **kwargs,
    ):
        super().__init__(generator, discriminator, loss=loss, **kwargs)
        self.alpha = check_weight(alpha, "alpha")
        self.beta = check_weight(beta, "beta")
        outputs = discriminator.output
        names = list(outputs) if isinstance(outputs, dict) else outputs
        rotation = outputs.get("rotation_logits") if isinstance(outputs, dict) else None
        if rotation is None or rotation.shape[-1] != 4:
            raise ValueError(
                f"{type(self).__name__} needs a discriminator with a 4-way "
                "'rotation_logits' output (e.g. resnet_discriminator(..., "
                f"rotation_head=True)). Received outputs: {names}"
            )

    def _tracked_names(self):
        return super()._tracked_names() + [
            "d_rotation_loss",
            "g_rotation_loss",
            "d_rotation_accuracy",
        ]

    def batch_multiple(self):
        return 4 * self.n_disc

    def _multiple_reason(self):
        return (
            f"n_disc={self.n_disc} equal sub-batches, each divisible by 4 for "
            "the four rotations"
        )

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "beta": self.beta})
        return config

    def rotation_loss(self, rotation_logits, rotation_labels):
        """Mean cross-entropy of the rotation head, in `keras.ops`."""
        return ops.mean(cross_entropy(rotation_labels, rotation_logits))

    def _rotated_labels(self, labels):
        if labels is None:
            return None
        quarter = ops.shape(labels)[0] // 4
        return ops.tile(labels[ops.shape(labels)[0] - quarter :], (4,))

    def auxiliary_inputs(self, images, labels):
        rotated, rotation_labels = rotate_quarter(images)
        return rotated, self._rotated_labels(labels), rotation_labels

    def auxiliary_discriminator_loss(self, outputs, targets):
        logits = outputs["rotation_logits"]
        rotation = self.rotation_loss(logits, targets)
        return self.beta * rotation, {
            "d_rotation_loss": rotation,
            "d_rotation_accuracy": accuracy(targets, logits),
        }

    def auxiliary_generator_loss(self, outputs, targets):
        rotation = self.rotation_loss(outputs["rotation_logits"], targets)
        return self.alpha * rotation, {"g_rotation_loss": rotation}


@register_method("ssgan")
def build_ssgan(
    image_size=32, channels=3, z_dim=128, width=None, alpha=0.2, beta=1.0, **options
):
    """An `SSGAN` with compare_gan's ResNets: sBN generator, rotation-head D.

    Args:
        image_size, channels, z_dim, width: as in `build_gan` (at 32: D =
            width, G = 2 * width; paper 128).
        alpha, beta: the rotation-loss weights of G and D (paper 0.2, 1.0).
        **options: `loss`, `n_disc`, `gp_weight`, `ema_decay`, `seed` and
            the network options, as in `build_gan`.

    Example:

    >>> gan = build_ssgan(32, width=8, z_dim=16)
    >>> gan.discriminator.output["rotation_logits"].shape
    (None, 4)
    """
    model_options, network_options = split_options(options)
    generator, discriminator = method_networks(
        image_size,
        channels,
        z_dim,
        width,
        network_options,
        generator_options={"normalization": "self_modulated"},
        discriminator_options={"rotation_head": True},
    )
    return SSGAN(
        generator, discriminator, alpha=alpha, beta=beta, name="ssgan", **model_options
    )
