"""Conditional GAN with a projection discriminator and conditional batch norm.

Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018, with the
conditional batch norm generator of de Vries et al. (2017) / BigGAN, as in
compare_gan's conditional ResNets.

With `phi(x)` D's pooled features, `psi` its linear output and `E` a class
embedding, the discriminator's logit for image x of class y is

    D(x, y) = psi(phi(x)) + <E[y], phi(x)>

and G(z, y) uses per-class batch-norm scales and offsets. The GAN losses are
the unconditional ones with D(x, y) on real pairs (x, y) from the data and
on fake pairs (G(z, y), y) with y uniform over the classes; hinge by default,
as in the paper.

Labels are required: a dataset without labels, or with -1 labels (a folder
without class sub-folders), fails before training with a clear error. For
unlabelled data, `keras_ssl.methods.s3gan.cluster_labels` makes labels from
k-means on self-supervised features (S3GAN's clustering variant).
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.methods.gan import GAN, method_networks, split_options
from keras_ssl.methods.registry import register_method
from keras_ssl.utils.validation import check_int


def check_num_classes(num_classes, method):
    if num_classes is None:
        raise ValueError(
            f"{method} needs num_classes (the number of classes in the data). "
            "Received: num_classes=None"
        )
    return check_int(num_classes, "num_classes")


def check_class_labels(labels, num_classes, method, check_values, allow_unknown):
    """Raise a clear error when class labels are missing or out of range.

    `labels` must be given; with `check_values` (outside a traced step) they
    must be integers in `[0, num_classes)`, or `[-1, num_classes)` when
    `allow_unknown` (-1 marks an image without a label).
    """
    if labels is None:
        raise ValueError(
            f"{method} needs class labels: the data must yield (images, "
            "labels) pairs with int labels. Received: images only"
        )
    if not check_values:
        return
    values = np.asarray(ops.convert_to_numpy(labels)).reshape(-1)
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(
            f"{method} needs integer class labels. Received: labels of dtype "
            f"{values.dtype}"
        )
    low = -1 if allow_unknown else 0
    if values.size and (values.min() < low or values.max() >= num_classes):
        hint = (
            " -1 marks an image without a label (a folder without class "
            "sub-folders gives only -1); use S3GAN for partly labelled data "
            "or cluster_labels to make labels."
            if low == 0 and values.min() < 0
            else ""
        )
        raise ValueError(
            f"{method} needs labels in [{low}, {num_classes}) "
            f"(num_classes={num_classes}). Received: labels in "
            f"[{values.min()}, {values.max()}].{hint}"
        )


def generation_labels(n, labels, num_classes, rng):
    """Class ids for `generate`: `labels` checked, or drawn from `rng`."""
    if labels is None:
        labels = rng.integers(0, num_classes, size=n)
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be {n} integer class ids, shape ({n},). "
            f"Received: labels of shape {labels.shape} and dtype {labels.dtype}"
        )
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes}). Received: labels in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels.astype("int32")


@keras.saving.register_keras_serializable(package="keras_ssl")
class ConditionalGAN(GAN):
    """Class-conditional GAN: G([z, labels]), D([images, labels]).

    Args:
        generator: G taking `[z, labels]`.
        discriminator: D taking `[images, labels]`, returning "logits".
        num_classes: number of classes; fake labels are drawn uniformly.
        loss: the GAN loss ("hinge" in the paper).
        n_disc, gp_weight, ema_decay, seed: see `GAN`.

    Example:

    >>> gan = build_cgan(32, channels=1, num_classes=10, width=8, z_dim=16)
    >>> gan.compile()
    >>> gan.generate(2, labels=[3, 7], seed=0).shape
    (2, 32, 32, 1)
    """

    def __init__(
        self,
        generator,
        discriminator,
        num_classes,
        loss="hinge",
        **kwargs,
    ):
        super().__init__(generator, discriminator, loss=loss, **kwargs)
        self.num_classes = check_num_classes(num_classes, "ConditionalGAN")
        if not (self.conditional_generator and self.conditional_discriminator):
            raise ValueError(
                "ConditionalGAN needs a generator taking [z, labels] and a "
                "discriminator taking [images, labels] (build them with "
                "num_classes=...). Received: generator inputs "
                f"{len(generator.inputs)}, discriminator inputs "
                f"{len(discriminator.inputs)}"
            )

    def check_labels(self, labels, check_values):
        check_class_labels(
            labels, self.num_classes, type(self).__name__, check_values, False
        )

    def generation_labels(self, n, labels, rng):
        return generation_labels(n, labels, self.num_classes, rng)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


@register_method("cgan")
def build_cgan(
    image_size=32, channels=3, num_classes=None, z_dim=128, width=None, **options
):
    """A `ConditionalGAN`: conditional-BN ResNet G, projection ResNet D.

    Args:
        image_size, channels, z_dim, width: as in `build_gan` (at 32: D =
            width, G = 2 * width; paper 128).
        num_classes: number of classes in the data (required).
        **options: `loss` ("hinge", the paper's), `n_disc`, `gp_weight`,
            `ema_decay`, `seed` and the network options, as in `build_gan`.

    Example:

    >>> gan = build_cgan(32, num_classes=10, width=8, z_dim=16)
    >>> [tuple(t.shape) for t in gan.discriminator.inputs]
    [(None, 32, 32, 3), (None,)]
    """
    num_classes = check_num_classes(num_classes, "build_cgan")
    model_options, network_options = split_options(options)
    generator, discriminator = method_networks(
        image_size,
        channels,
        z_dim,
        width,
        {"num_classes": num_classes, **network_options},
        generator_options={"normalization": "conditional"},
    )
    return ConditionalGAN(
        generator,
        discriminator,
        num_classes=num_classes,
        name="cgan",
        **{"loss": "hinge", **model_options},
    )
