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

from keras_ssl.architectures.resnet_gan import _check_positive_int
from keras_ssl.methods.gan import GAN, _gan_options, _resnet_networks
from keras_ssl.methods.registry import register_method


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

    requires_labels = True

    def __init__(
        self,
        generator,
        discriminator,
        num_classes,
        loss="hinge",
        **kwargs,
    ):
        super().__init__(generator, discriminator, loss=loss, **kwargs)
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        if not (self.conditional_generator and self.conditional_discriminator):
            raise ValueError(
                "ConditionalGAN needs a generator taking [z, labels] and a "
                "discriminator taking [images, labels] (build them with "
                "num_classes=...). Received: generator inputs "
                f"{len(generator.inputs)}, discriminator inputs "
                f"{len(discriminator.inputs)}"
            )

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config


def check_num_classes(num_classes, method):
    if num_classes is None:
        raise ValueError(
            f"{method} needs num_classes (the number of classes in the data). "
            "Received: num_classes=None"
        )
    return _check_positive_int(num_classes, "num_classes")


@register_method("cgan")
def build_cgan(
    image_size=32,
    channels=3,
    num_classes=None,
    width=None,
    g_width=None,
    d_width=None,
    z_dim=128,
    loss="hinge",
    n_disc=1,
    gp_weight=None,
    ema_decay=None,
    spectral_norm=True,
    style="resnet5",
    attention_resolution="default",
    seed=None,
):
    """A `ConditionalGAN`: conditional-BN ResNet G, projection ResNet D.

    `width` as in `build_gan` (at 32: D = width, G = 2 * width; paper 128).

    Example:

    >>> gan = build_cgan(32, num_classes=10, width=8, z_dim=16)
    >>> [tuple(t.shape) for t in gan.discriminator.inputs]
    [(None, 32, 32, 3), (None,)]
    """
    num_classes = check_num_classes(num_classes, "build_cgan")
    conditional = {"num_classes": num_classes}
    generator, discriminator = _resnet_networks(
        image_size,
        channels,
        z_dim,
        (width, g_width, d_width),
        spectral_norm,
        style,
        attention_resolution,
        generator_options={**conditional, "normalization": "conditional"},
        discriminator_options=conditional,
    )
    return ConditionalGAN(
        generator,
        discriminator,
        num_classes=num_classes,
        name="cgan",
        **_gan_options(loss, n_disc, gp_weight, ema_decay, seed),
    )
