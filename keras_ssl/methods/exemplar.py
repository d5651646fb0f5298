"""Exemplar networks, the triplet variant of Kolesnikov et al. 2019.

References: Dosovitskiy et al., "Discriminative Unsupervised Feature Learning
with Convolutional Neural Networks", NIPS 2014 (one surrogate class per seed
image, the class made of heavily augmented crops of it); Kolesnikov, Zhai &
Beyer, "Revisiting Self-Supervised Visual Representation Learning", CVPR 2019
(the same idea as metric learning: every image of a batch is augmented
`num_views` = 8 times and a triplet loss with margin 0.5 pulls the views of an
image together and pushes other images away).

This module implements the triplet variant. The surrogate-class variant needs
a classifier with one output per seed image and a fixed set of seeds, so it
does not scale past a few thousand images and does not fit a stream of
unlabeled batches; the triplet variant trains on any dataset with
`model.fit`, as Kolesnikov et al. did on ImageNet.

Objective, with e = normalize(head(pool(encoder(view)))) and squared
distances d:

    L = mean over (anchor a, positive p) of max(0, d(a, p) - d(a, n) + 0.5)

where p is another view of the same image and n is the semi-hard negative of
the pair (the closest view of another image farther than p; the farthest
negative when none is), as in `triplet_semihard_loss`, which the authors'
code uses. Pretext accuracy: the fraction of views whose nearest other view
belongs to the same image (chance about 7 / (8B - 1)).
"""

import keras
from keras import ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import l2_normalize
from keras_ssl.ops.resize import crop_and_resize


@keras.saving.register_keras_serializable(package="keras_ssl")
class Exemplar(PretextTask):
    """Exemplar (triplet variant): views of one image close, other images far.

    Reference: Kolesnikov, Zhai & Beyer, CVPR 2019, after Dosovitskiy et al.,
    NIPS 2014. Batches are images in [-1, 1], or `(images, labels)` whose
    labels are ignored. `call(images)` returns the L2-normalised embeddings
    (B, embedding_dim). Training mechanics (`compile`, `train_step`,
    serialization) come from `PretextTask`; the objective is
    `triplet_loss(embeddings)` and the logged accuracy
    `nearest_view_accuracy(embeddings)`, also reachable as `pretext_loss` and
    `pretext_accuracy` (which take embeddings here, not logits and labels).

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector.
        embedding_dim: size of the L2-normalised embedding the loss sees.
        num_views: augmented views per image (8 in the paper).
        margin: triplet margin on squared distances (0.5 in the paper).
        crop_fraction: `(min, max)` side of the random crop as a fraction of
            the image side; the crop is resized back to the image size.
        color_strength: scale of the brightness, contrast and saturation
            jitter (0 disables it).
        seed: seed of the augmentations.
        **kwargs: `keras.Model` arguments (name, ...).

    Example:

    >>> import numpy as np
    >>> encoder = keras.Sequential(
    ...     [keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3)]
    ... )
    >>> model = Exemplar(encoder, embedding_dim=8, num_views=2)
    >>> tuple(model(np.zeros((2, 16, 16, 3), "float32")).shape)
    (2, 8)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['pretext_accuracy', 'pretext_loss']
    """

    def __init__(
        self,
        encoder,
        embedding_dim=128,
        num_views=8,
        margin=0.5,
        crop_fraction=(0.5, 1.0),
        color_strength=0.4,
        seed=None,
        **kwargs,
    ):
        if not isinstance(num_views, int) or num_views < 2:
            raise ValueError(
                f"num_views must be an int >= 2. Received: num_views={num_views!r}"
            )
        if not float(margin) > 0:
            raise ValueError(f"margin must be positive. Received: margin={margin!r}")
        low, high = (float(v) for v in crop_fraction)
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(
                "crop_fraction must be (min, max) with 0 < min <= max <= 1. "
                f"Received: crop_fraction={crop_fraction!r}"
            )
        super().__init__(encoder, **kwargs)
        self.embedding_dim = int(embedding_dim)
        self.num_views = num_views
        self.margin = float(margin)
        self.crop_fraction = (low, high)
        self.color_strength = float(color_strength)
        self.seed = seed
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        self.head = keras.layers.Dense(self.embedding_dim, name="embedding")
        self.head.build((None, self.feature_dim))
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        x = self.head(self.features(self.batch_images(images), training=training))
        return l2_normalize(x)

    def augment(self, images):
        """`num_views` random views of each image, view-major: (V * B, H, W, C).

        View v of image b is row `v * B + b`. Random crop (resized back),
        horizontal flip and colour jitter, all drawn from the model's seed.
        """
        images = ops.convert_to_tensor(images, "float32")
        shape = ops.shape(images)
        views = ops.tile(images, [self.num_views, 1, 1, 1])
        count = shape[0] * self.num_views
        low, high = self.crop_fraction
        side = keras.random.uniform((count, 1), low, high, seed=self.seed_generator)
        corner = keras.random.uniform((count, 2), seed=self.seed_generator) * (
            1.0 - side
        )
        boxes = ops.concatenate([corner, corner + side], axis=-1)
        views = crop_and_resize(views, boxes, (shape[1], shape[2]))
        flip = keras.random.uniform((count, 1, 1, 1), seed=self.seed_generator) < 0.5
        views = ops.where(flip, ops.flip(views, axis=2), views)
        if self.color_strength > 0:
            strength = self.color_strength

            def jitter():
                return keras.random.uniform(
                    (count, 1, 1, 1),
                    1.0 - strength,
                    1.0 + strength,
                    seed=self.seed_generator,
                )

            mean = ops.mean(views, axis=[1, 2, 3], keepdims=True)
            views = (views - mean) * jitter() + mean
            gray = ops.mean(views, axis=-1, keepdims=True)
            views = (views - gray) * jitter() + gray
            views = views + (jitter() - 1.0)
        return ops.clip(views, -1.0, 1.0)

    def _view_ids(self, num_rows):
        batch = num_rows // self.num_views
        return ops.tile(ops.arange(batch, dtype="int32"), [self.num_views])

    def triplet_loss(self, embeddings):
        """Semi-hard triplet loss over view-major embeddings (V * B, D)."""
        num_views = self.num_views
        rows = ops.shape(embeddings)[0]
        batch = rows // num_views
        ids = self._view_ids(rows)
        distances = _squared_distances(embeddings)
        positive_index = ops.expand_dims(
            ops.arange(num_views, dtype="int32") * batch, 0
        ) + ops.expand_dims(ids, 1)
        positive = ops.take_along_axis(distances, positive_index, axis=1)
        not_self = ops.not_equal(
            positive_index, ops.expand_dims(ops.arange(rows, dtype="int32"), 1)
        )
        negative_mask = ops.not_equal(ops.expand_dims(ids, 1), ops.expand_dims(ids, 0))
        # (rows, views, rows): for every (anchor, positive) pair, which
        # negatives are farther than the positive.
        farther = ops.logical_and(
            ops.expand_dims(negative_mask, 1),
            ops.greater(ops.expand_dims(distances, 1), ops.expand_dims(positive, 2)),
        )
        large = ops.max(distances) + 1.0
        semi_hard = ops.min(
            ops.where(farther, ops.expand_dims(distances, 1), large), axis=2
        )
        hardest = ops.max(ops.where(negative_mask, distances, -1.0), axis=1)
        negative = ops.where(
            ops.any(farther, axis=2), semi_hard, ops.expand_dims(hardest, 1)
        )
        losses = ops.relu(positive - negative + self.margin)
        weights = ops.cast(not_self, losses.dtype)
        return ops.sum(losses * weights) / ops.sum(weights)

    def nearest_view_accuracy(self, embeddings):
        """Fraction of views whose nearest other view comes from the same image."""
        rows = ops.shape(embeddings)[0]
        ids = self._view_ids(rows)
        distances = _squared_distances(embeddings) + 4.0 * ops.eye(rows)
        nearest = ops.argmin(distances, axis=1)
        return ops.mean(ops.cast(ops.equal(ops.take(ids, nearest), ids), "float32"))

    def pretext_loss(self, embeddings):
        """Exemplar's pretext loss, `triplet_loss(embeddings)`.

        The base class's `pretext_loss(logits, labels)` is a classification
        loss; Exemplar has no pretext labels, only views of the same image.
        """
        return self.triplet_loss(embeddings)

    def pretext_accuracy(self, embeddings):
        """Exemplar's pretext accuracy, `nearest_view_accuracy(embeddings)`."""
        return self.nearest_view_accuracy(embeddings)

    def pretext_logs(self, images, training=False):
        """Triplet loss and nearest-view accuracy of the augmented views."""
        embeddings = self(self.augment(images), training=training)
        return {
            "pretext_loss": self.triplet_loss(embeddings),
            "pretext_accuracy": self.nearest_view_accuracy(embeddings),
        }

    def pretext_chance(self, batch_size):
        """(V - 1) / (V B - 1): a random other view is from the same image."""
        views = self.num_views * batch_size
        return (self.num_views - 1) / (views - 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "num_views": self.num_views,
                "margin": self.margin,
                "crop_fraction": list(self.crop_fraction),
                "color_strength": self.color_strength,
                "seed": self.seed,
            }
        )
        return config


def _squared_distances(embeddings):
    gram = ops.matmul(embeddings, ops.transpose(embeddings))
    norms = ops.diagonal(gram)
    return ops.maximum(
        ops.expand_dims(norms, 1) + ops.expand_dims(norms, 0) - 2.0 * gram, 0.0
    )


@register_method("exemplar")
def build_exemplar(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    embedding_dim=128,
    num_views=8,
    margin=0.5,
    seed=None,
):
    """Exemplar with the NIN encoder (or `encoder`), compiled with Adam 1e-3.

    Args:
        image_size: side of the square input images.
        channels: image channels.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) or
            a `keras.Model`; see `keras_ssl.architectures.build_encoder`.
        encoder_config: keyword arguments of the named encoder's builder,
            e.g. `{"width": 64, "num_blocks": 4}` for NIN.
        embedding_dim, num_views, margin, seed: see `Exemplar`.
    """
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    model = Exemplar(
        encoder,
        embedding_dim=embedding_dim,
        num_views=num_views,
        margin=margin,
        seed=seed,
    )
    model.compile()
    return model
