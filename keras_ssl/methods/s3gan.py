"""S3GAN: high-fidelity image generation with fewer labels.

Lucic, Tschannen, Ritter, Zhai, Bachem & Gelly, "High-Fidelity Image
Generation With Fewer Labels", ICML 2019 (code: google/compare_gan).

(a) Semi-supervised (`S3GAN`). D = projection discriminator with a linear
classifier head `c(phi(x))` and SS-GAN's rotation head. Of the real images
only a fraction `labeled_fraction` keep their label y; the others get D's own
prediction `y_hat = argmax c(phi(x))` (gradient stopped) in the projection:

    D minimises  L_D(D(x, y or y_hat), D(G(z, y_f), y_f))
                 + class_weight * E_{labelled x}[CE(c(phi(x)), y)]
                 + beta * rotation CE on real images
    G minimises  L_G(D(G(z, y_f), y_f)) + alpha * rotation CE on fakes

with y_f uniform over the classes, hinge loss, beta = 1, alpha = 0.2.

Which images are labelled is decided per image, reproducibly: an image is
labelled when a seeded hash of its pixels (quantised to 8 bits, integer
arithmetic, so it does not depend on batching or order) falls below
`labeled_fraction`; labels that are already -1 stay unknown. The same images
are therefore labelled in every epoch and every run with the same
`labeled_seed`. With random augmentation the pixels change from epoch to
epoch; then hide labels in the data instead (`mask_labels`, -1 = unknown)
and set `labeled_fraction=1.0`.

(b) Clustering (S3GAN-CO's unsupervised cousin, "Clustering" in the paper):
`cluster_labels(encoder, data, num_clusters)` runs k-means on the features of
a self-supervised encoder (e.g. a RotNet's); the cluster ids are the labels of
a `ConditionalGAN` with `num_classes=num_clusters`.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.methods.cgan import (
    check_class_labels,
    check_num_classes,
    generation_labels,
)
from keras_ssl.methods.gan import method_networks, split_options
from keras_ssl.methods.registry import register_method
from keras_ssl.methods.ssgan import SSGAN, cross_entropy
from keras_ssl.ops.common import correct_predictions
from keras_ssl.utils.validation import check_int, check_number, check_weight

_HASH_BITS = 20


def check_labeled_fraction(labeled_fraction):
    return check_number(
        labeled_fraction,
        "labeled_fraction",
        minimum=0,
        maximum=1,
        exclusive_minimum=True,
    )


def mask_labels(labels, labeled_fraction, seed=0):
    """Keep a seeded, class-stratified `labeled_fraction` of labels; -1 elsewhere.

    For in-memory labels (e.g. from `keras_ssl.data.load_arrays`): in every
    class, `round(labeled_fraction * count)` (at least 1) labels are kept,
    chosen with `numpy.random.default_rng(seed)`.

    Example:

    >>> masked = mask_labels(np.repeat(np.arange(2), 10), 0.2, seed=0)
    >>> int((masked >= 0).sum()), sorted(set(masked[masked >= 0].tolist()))
    (4, [0, 1])
    """
    labeled_fraction = check_labeled_fraction(labeled_fraction)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            "labels must be a 1-D array of integer class ids. Received: shape "
            f"{labels.shape}, dtype {labels.dtype}"
        )
    rng = np.random.default_rng(seed)
    masked = np.full(labels.shape, -1, dtype="int32")
    for value in np.unique(labels[labels >= 0]):
        index = np.flatnonzero(labels == value)
        keep = max(1, int(round(labeled_fraction * len(index))))
        chosen = rng.choice(index, size=keep, replace=False)
        masked[chosen] = value
    return masked


def cluster_labels(encoder, data, num_clusters, seed=0, batch_size=256):
    """k-means cluster ids of `encoder`'s features, as labels for a cGAN.

    Args:
        encoder: a `keras.Model` from images (as in `data`) to features
            (B, D) or feature maps (B, H, W, D), averaged over H and W.
        data: images as an array (N, H, W, C) in [-1, 1], or a `tf.data`
            dataset of image batches or (images, labels) batches.
        num_clusters: number of clusters (the cGAN's `num_classes`).
        seed: seed of k-means (scikit-learn `KMeans(random_state=seed)`).
        batch_size: batch size for an array input.

    Returns:
        int32 (N,) cluster ids in [0, num_clusters), in the order of `data`.

    Example:

    >>> encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    >>> images = np.concatenate([-np.ones((5, 8, 8, 1)), np.ones((5, 8, 8, 1))])
    >>> ids = cluster_labels(encoder, images.astype("float32"), 2)
    >>> len(set(ids[:5].tolist())), len(set(ids.tolist()))
    (1, 2)
    """
    from sklearn.cluster import KMeans

    if not isinstance(encoder, keras.Model):
        raise TypeError(
            "encoder must be a keras.Model from images to features. "
            f"Received: encoder={encoder!r}"
        )
    num_clusters = check_int(num_clusters, "num_clusters", minimum=2)
    features = []
    if isinstance(data, np.ndarray):
        batches = (data[i : i + batch_size] for i in range(0, len(data), batch_size))
    else:
        batches = (
            batch[0] if isinstance(batch, (tuple, list)) else batch for batch in data
        )
    for images in batches:
        output = ops.convert_to_numpy(encoder(images, training=False))
        if output.ndim == 4:
            output = output.mean(axis=(1, 2))
        features.append(output.reshape(len(output), -1))
    features = np.concatenate(features).astype("float64")
    if len(features) < num_clusters:
        raise ValueError(
            f"cluster_labels needs at least num_clusters={num_clusters} images. "
            f"Received: {len(features)} images"
        )
    kmeans = KMeans(n_clusters=num_clusters, n_init=10, random_state=seed)
    return kmeans.fit_predict(features).astype("int32")


@keras.saving.register_keras_serializable(package="keras_ssl")
class S3GAN(SSGAN):
    """Semi-supervised S3GAN (module docstring): few labels + rotation.

    Args:
        generator: G taking `[z, labels]` (conditional batch norm).
        discriminator: D taking `[images, labels]` with outputs "logits"
            (projection; a label of -1 uses the class head's prediction),
            "class_logits" and "rotation_logits".
        num_classes: number of classes.
        labeled_fraction: fraction of real images whose label is used, in
            (0, 1]; 1.0 uses every label the data gives.
        labeled_seed: seed of the hash that picks the labelled images.
        class_weight: weight of D's classification loss.
        loss: the GAN loss ("hinge" as in the paper).
        alpha, beta: rotation-loss weights of G and D (see `SSGAN`).
        n_disc, gp_weight, ema_decay, seed: see `GAN`.

    Example:

    >>> gan = build_s3gan(32, num_classes=10, labeled_fraction=0.2, width=8, z_dim=16)
    >>> sorted(gan.discriminator.output)
    ['class_logits', 'features', 'logits', 'rotation_logits']
    """

    def __init__(
        self,
        generator,
        discriminator,
        num_classes,
        labeled_fraction=0.1,
        labeled_seed=0,
        class_weight=1.0,
        loss="hinge",
        alpha=0.2,
        beta=1.0,
        **kwargs,
    ):
        labeled_fraction = check_labeled_fraction(labeled_fraction)
        super().__init__(
            generator, discriminator, loss=loss, alpha=alpha, beta=beta, **kwargs
        )
        self.num_classes = check_num_classes(num_classes, "S3GAN")
        self.labeled_fraction = labeled_fraction
        self.labeled_seed = check_int(labeled_seed, "labeled_seed", minimum=0)
        self.class_weight = check_weight(class_weight, "class_weight")
        outputs = discriminator.output
        if not (
            self.conditional_generator
            and self.conditional_discriminator
            and "class_logits" in outputs
        ):
            raise ValueError(
                "S3GAN needs a generator taking [z, labels] and a discriminator "
                "taking [images, labels] with 'class_logits' and "
                "'rotation_logits' outputs (resnet_discriminator(..., "
                "num_classes=K, class_head=True, rotation_head=True)). Received: "
                f"generator inputs {len(generator.inputs)}, discriminator inputs "
                f"{len(discriminator.inputs)}, outputs {list(outputs)}"
            )
        size = int(np.prod(self.image_shape))
        rng = np.random.default_rng(self.labeled_seed)
        # Products stay below 2^31; the sums wrap around in int32, which is
        # exact modular arithmetic and so independent of summation order.
        self._hash_weights = rng.integers(1, 2**23, size=(size,), dtype="int32")

    def _tracked_names(self):
        return super()._tracked_names() + ["d_class_loss", "d_class_accuracy"]

    def check_labels(self, labels, check_values):
        check_class_labels(labels, self.num_classes, "S3GAN", check_values, True)

    def generation_labels(self, n, labels, rng):
        return generation_labels(n, labels, self.num_classes, rng)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "labeled_fraction": self.labeled_fraction,
                "labeled_seed": self.labeled_seed,
                "class_weight": self.class_weight,
            }
        )
        return config

    def labeled_mask(self, images):
        """Boolean (B,): whether each image's label is used (seeded pixel hash)."""
        pixels = ops.cast(
            ops.round((ops.clip(ops.cast(images, "float32"), -1.0, 1.0) + 1.0) * 127.5),
            "int32",
        )
        pixels = ops.reshape(pixels, (ops.shape(images)[0], -1))
        weights = ops.convert_to_tensor(self._hash_weights)
        hashed = ops.sum(pixels * weights[None, :], axis=-1)
        bucket = ops.cast(ops.mod(hashed, 2**_HASH_BITS), "float32") / float(
            2**_HASH_BITS
        )
        return bucket < self.labeled_fraction

    def prepare_labels(self, images, labels):
        labels = ops.cast(labels, "int32")
        if self.labeled_fraction >= 1.0:
            return labels
        return ops.where(self.labeled_mask(images), labels, -ops.ones_like(labels))

    def classification_loss(self, class_logits, labels):
        """Mean CE of D's classifier over the images with a label (>= 0)."""
        known = ops.cast(labels >= 0, "float32")
        losses = cross_entropy(ops.maximum(labels, 0), class_logits)
        count = ops.maximum(ops.sum(known), 1.0)
        return ops.sum(losses * known) / count, known, count

    def extra_discriminator_loss(self, outputs, batch, real_labels):
        class_logits = outputs["class_logits"][:batch]
        loss, known, count = self.classification_loss(class_logits, real_labels)
        hits = correct_predictions(real_labels, class_logits) * known
        return self.class_weight * loss, {
            "d_class_loss": loss,
            "d_class_accuracy": ops.sum(hits) / count,
            "d_class_accuracy_weight": ops.sum(known),
            "d_class_loss_weight": ops.sum(known),
        }


@register_method("s3gan")
def build_s3gan(
    image_size=32,
    channels=3,
    num_classes=None,
    labeled_fraction=0.1,
    z_dim=128,
    width=None,
    **options,
):
    """An `S3GAN`: conditional-BN G; projection D with class and rotation heads.

    Args:
        image_size, channels, z_dim, width: as in `build_gan` (at 32: D =
            width, G = 2 * width).
        num_classes: number of classes in the data (required).
        labeled_fraction: fraction of real images whose label is used.
        **options: `labeled_seed`, `class_weight`, `alpha`, `beta` (see
            `S3GAN`), `loss` ("hinge", the paper's), `n_disc`, `gp_weight`,
            `ema_decay`, `seed` and the network options, as in `build_gan`.

    Example:

    >>> gan = build_s3gan(32, num_classes=10, width=8, z_dim=16)
    >>> gan.labeled_fraction
    0.1
    """
    num_classes = check_num_classes(num_classes, "build_s3gan")
    check_labeled_fraction(labeled_fraction)
    s3gan_options = {
        key: options.pop(key)
        for key in ("labeled_seed", "class_weight", "alpha", "beta")
        if key in options
    }
    model_options, network_options = split_options(options)
    generator, discriminator = method_networks(
        image_size,
        channels,
        z_dim,
        width,
        {"num_classes": num_classes, **network_options},
        generator_options={"normalization": "conditional"},
        discriminator_options={"rotation_head": True, "class_head": True},
    )
    return S3GAN(
        generator,
        discriminator,
        num_classes=num_classes,
        labeled_fraction=labeled_fraction,
        name="s3gan",
        **{"loss": "hinge", **s3gan_options, **model_options},
    )
