"""Transitive invariance: a graph of instance edges, trained with triplets.

Reference: Wang, He & Gupta, "Transitive Invariance for Self-supervised
Visual Representation Learning", ICCV 2017.

The paper builds a graph over image patches with two kinds of edges:

- inter-instance edges: two different objects that look alike (nearest
  neighbours in the feature space of a self-supervised network);
- intra-instance edges: two views of the same object (tracked through a
  video, so the views differ in viewpoint, pose and lighting).

Transitivity then gives new positive pairs: if A and B are neighbours
(inter) and A' and B' are other views of A and B (intra), the pairs
<A, B'>, <A', B> and <A', B'> should be close too, and they carry both
kinds of invariance. A Siamese/triplet network is trained with a ranking
loss: for each positive pair (a, p) and a negative n from another part of
the graph,

    L = mean max(0, D(a, p) - D(a, n) + margin),  D = 1 - cos,  margin 0.5.

Here (no video): the intra-instance edge joins two random augmentations of
one image (crop, flip, colour; `Exemplar.augment`), which stands in for the
tracked second view; the inter-instance edges join each training image to
one of its `num_neighbors` nearest neighbours in the model's current
embedding (`TransitiveGraph`), rebuilt every N training steps by the
`TransitiveGraphUpdate` callback (the paper builds the graph once, from a
pretrained network; rebuilding lets a model trained from scratch improve
its own graph). The loss runs over the three transitive pairs above and,
by default (`pairs="all"`), the direct edges <A, A'>, <B, B'>, <A, B>; each
anchor is ranked against the positives of every other instance of the batch
(the paper samples negatives at random).
`pretext_accuracy` is the fraction of anchors whose positive is closer than
every in-batch negative (chance about 1 / B).

Data: `fit` takes batches `(anchors, neighbours)` of images in [-1, 1],
which `TransitiveGraph.dataset` (a `tf.data.Dataset`) and
`TransitiveGraph.batches` (a `keras.utils.PyDataset`, for backends
without TensorFlow) yield; plain image batches (arrays included) train
with each image as its own neighbour (only the intra-instance edge is
left).
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.exemplar import Exemplar
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import l2_normalize
from keras_ssl.utils.validation import check_choice, check_int

PAIRS = ("all", "transitive")


@keras.saving.register_keras_serializable(package="keras_ssl")
class TransitiveInvariance(Exemplar):
    """Triplet ranking over transitive pairs of a neighbour graph.

    Reference: Wang, He & Gupta, ICCV 2017; see the module docstring.

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector.
        embedding_dim: size of the L2-normalised embedding (128).
        margin: ranking margin on the cosine distance (0.5).
        crop_fraction: `(min, max)` side of the random crops of a view.
        color_strength: colour jitter of a view (0 disables).
        pairs: `"all"` (default): the transitive pairs <A, B'>, <A', B>,
            <A', B'> plus the direct edges <A, A'>, <B, B'> (intra) and
            <A, B> (inter); `"transitive"`: the three transitive pairs only.
            The paper trains on a graph built once from a pretrained
            network; from scratch the neighbours are first close to random,
            and the direct intra-instance pairs are what gives the first
            steps something learnable.
        seed: seed of the augmentations.
        **kwargs: `keras.Model` arguments.

    `call(images)` returns the (B, embedding_dim) normalised embeddings.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = TransitiveInvariance(nin_encoder((16, 16, 3), 3, width=8),
    ...                              embedding_dim=8, seed=0)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> graph = TransitiveGraph(images, num_neighbors=2, seed=0)
    >>> history = model.fit(graph.dataset(4), epochs=1, verbose=0,
    ...                     callbacks=[TransitiveGraphUpdate(graph, every=1)])
    >>> sorted(history.history)
    ['pretext_accuracy', 'pretext_loss']
    """

    def __init__(
        self,
        encoder,
        embedding_dim=128,
        margin=0.5,
        crop_fraction=(0.5, 1.0),
        color_strength=0.4,
        pairs="all",
        seed=None,
        **kwargs,
    ):
        kwargs.pop("num_views", None)
        check_choice(pairs, "pairs", PAIRS, context="TransitiveInvariance")
        self.pairs = pairs
        super().__init__(
            encoder,
            embedding_dim=embedding_dim,
            num_views=2,
            margin=margin,
            crop_fraction=crop_fraction,
            color_strength=color_strength,
            seed=seed,
            **kwargs,
        )

    def batch_images(self, data):
        """`[anchors; neighbours]` (2B, H, W, C) of a batch."""
        if isinstance(data, dict):
            anchors = data["images"]
            neighbours = data.get("neighbours", anchors)
        elif isinstance(data, list | tuple):
            anchors = data[0]
            neighbours = data[1] if len(data) > 1 else anchors
            if len(ops.shape(neighbours)) != 4:  # (images, labels): no graph
                neighbours = anchors
        else:
            anchors = neighbours = data
        images = ops.concatenate([anchors, neighbours], axis=0)
        if None not in self.image_shape:
            images = ops.reshape(images, (-1,) + tuple(self.image_shape))
        return images

    def call(self, images, training=False):
        if isinstance(images, list | tuple):
            images = images[0]
        x = self.head(self.features(images, training=training))
        return l2_normalize(x)

    def transitive_pairs(self, images, training=False):
        """Embeddings of the anchors and positives of the transitive pairs.

        `images` is `[A; B]` (2B, ...); each is augmented twice (A, B, A', B'
        below are the views). Returns `(anchors, positives)`, each (kB, D):
        the pairs <A, B'>, <A', B>, <A', B'> stacked in that order, followed
        with `pairs="all"` by <A, A'>, <B, B'>, <A, B> (k = 6).
        """
        views = self.augment(images)  # view-major: [A, B, A', B']
        embeddings = self(views, training=training)
        a, b, a2, b2 = ops.split(embeddings, 4, axis=0)
        first, second = [a, a2, a2], [b2, b, b2]
        if self.pairs == "all":
            first, second = first + [a, b, a], second + [a2, b2, b]
        return ops.concatenate(first, axis=0), ops.concatenate(second, axis=0)

    def ranking_loss_and_accuracy(self, anchors, positives):
        """Triplet ranking loss averaged over every in-batch negative.

        Each anchor is ranked against the positives of all other instances
        of the batch (the paper samples negatives at random; using every
        in-batch negative averages over such samples). Mining only the
        hardest negative lets a network trained from scratch settle at equal
        distances (loss = margin) on these small batches.
        """
        kinds = 6 if self.pairs == "all" else 3
        rows = ops.shape(anchors)[0]
        batch = rows // kinds
        distances = 1.0 - ops.matmul(anchors, ops.transpose(positives))  # (kB, kB)
        instance = ops.tile(ops.arange(batch), [kinds])
        negative_mask = ops.cast(
            ops.not_equal(instance[:, None], instance[None, :]), distances.dtype
        )
        positive = ops.diagonal(distances)
        hinge = ops.relu(positive[:, None] - distances + self.margin)
        loss = ops.sum(hinge * negative_mask) / ops.maximum(ops.sum(negative_mask), 1.0)
        hardest = ops.min(distances + 4.0 * (1.0 - negative_mask), axis=1)
        accuracy = ops.mean(ops.cast(positive < hardest, "float32"))
        return loss, accuracy

    def pretext_logs(self, images, training=False):
        anchors, positives = self.transitive_pairs(images, training=training)
        loss, accuracy = self.ranking_loss_and_accuracy(anchors, positives)
        return {"pretext_loss": loss, "pretext_accuracy": accuracy}

    def pretext_chance(self, batch_size):
        """1 / (k(B - 1) + 1): the positive against k(B - 1) negatives."""
        kinds = 6 if self.pairs == "all" else 3
        return 1.0 / (kinds * (batch_size - 1) + 1)

    def training_data(
        self, images, labels=None, batch_size=64, seed=0, num_neighbors=4, every=100
    ):
        """`(graph.dataset(batch_size), [TransitiveGraphUpdate])` for `fit`.

        On backends other than TensorFlow the batches come from
        `graph.batches(batch_size)` (no TensorFlow needed).

        The graph links each image to `num_neighbors` nearest neighbours in
        the model's embedding, rebuilt before training and every `every`
        steps; `labels` are ignored.
        """
        graph = TransitiveGraph(images, num_neighbors=num_neighbors, seed=seed)
        if keras.backend.backend() == "tensorflow":
            data = graph.dataset(batch_size)
        else:
            data = graph.batches(batch_size)
        return data, [TransitiveGraphUpdate(graph, every=every)]

    def get_config(self):
        config = super().get_config()
        config.pop("num_views", None)
        config["pairs"] = self.pairs
        return config


class TransitiveGraph:
    """Inter-instance edges of a training set: each image's nearest neighbours.

    Reference: Wang, He & Gupta, ICCV 2017 (the graph's inter-instance
    edges). Holds the images (N, H, W, C) in [-1, 1] and a table (N, k) of
    each image's `num_neighbors` nearest other images by cosine similarity of
    an embedding; until the first `rebuild` every image is its own
    neighbour. `dataset(batch_size)` yields `(anchors, neighbours)` batches,
    the neighbour of each anchor drawn at random from its row of the table
    at the moment the batch is made, so a rebuilt table takes effect on the
    next batches; `batches(batch_size)` yields the same without TensorFlow.

    Args:
        images: array (N, H, W, C) in [-1, 1].
        num_neighbors: neighbours per image, k.
        seed: seed of shuffling and of the neighbour draws.
    """

    def __init__(self, images, num_neighbors=4, seed=None):
        self.images = np.asarray(images, "float32")
        if self.images.ndim != 4 or len(self.images) < 2:
            raise ValueError(
                "images must be an array (N, H, W, C) with N >= 2. Received: "
                f"shape {self.images.shape}"
            )
        self.num_neighbors = check_int(
            num_neighbors, "num_neighbors", minimum=1, maximum=len(self.images) - 1
        )
        self.rng = np.random.default_rng(seed)
        self.neighbors = np.repeat(
            np.arange(len(self.images))[:, None], self.num_neighbors, axis=1
        )
        self.rebuilds = 0

    def rebuild(self, embed, batch_size=256):
        """Recompute the table from `embed(images) -> (B, D)` embeddings."""
        chunks = [
            np.asarray(embed(self.images[i : i + batch_size]), "float32")
            for i in range(0, len(self.images), batch_size)
        ]
        features = np.concatenate(chunks)
        features /= np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), 1e-12)
        table = np.empty_like(self.neighbors)
        for start in range(0, len(features), 1024):
            similarity = features[start : start + 1024] @ features.T
            rows = np.arange(start, start + len(similarity))
            similarity[np.arange(len(similarity)), rows] = -np.inf  # not itself
            top = np.argpartition(-similarity, self.num_neighbors - 1, axis=1)
            table[start : start + len(similarity)] = top[:, : self.num_neighbors]
        self.neighbors = table
        self.rebuilds += 1
        return self.neighbors

    def _batches(self, batch_size):
        order = self.rng.permutation(len(self.images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            pick = self.rng.integers(0, self.num_neighbors, len(index))
            partner = self.neighbors[index, pick]
            yield self.images[index], self.images[partner]

    def dataset(self, batch_size):
        """A `tf.data.Dataset` of `(anchors, neighbours)`, one pass per epoch."""
        import tensorflow as tf

        check_int(batch_size, "batch_size", minimum=2, maximum=len(self.images))
        spec = tf.TensorSpec((batch_size,) + self.images.shape[1:], tf.float32)
        dataset = tf.data.Dataset.from_generator(
            lambda: self._batches(batch_size), output_signature=(spec, spec)
        )
        batches = len(self.images) // batch_size
        return dataset.apply(tf.data.experimental.assert_cardinality(batches))

    def batches(self, batch_size):
        """A `keras.utils.PyDataset` of `(anchors, neighbours)` batches.

        The batches of `dataset(batch_size)` without TensorFlow: one pass
        over the images per epoch, each neighbour drawn from the current
        table when its batch is made.
        """
        check_int(batch_size, "batch_size", minimum=2, maximum=len(self.images))
        return _GraphBatches(self, batch_size)


class _GraphBatches(keras.utils.PyDataset):
    """`TransitiveGraph` batches for `fit`, one shuffled pass per epoch."""

    def __init__(self, graph, batch_size):
        super().__init__()
        self.graph = graph
        self.batch_size = batch_size
        self.on_epoch_end()

    def __len__(self):
        return len(self.graph.images) // self.batch_size

    def __getitem__(self, index):
        graph = self.graph
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        pick = graph.rng.integers(0, graph.num_neighbors, len(rows))
        return graph.images[rows], graph.images[graph.neighbors[rows, pick]]

    def on_epoch_end(self):
        self.order = self.graph.rng.permutation(len(self.graph.images))


class TransitiveGraphUpdate(keras.callbacks.Callback):
    """Rebuild a `TransitiveGraph` from the model's embedding every N steps.

    Args:
        graph: the `TransitiveGraph` whose dataset the model trains on.
        every: training steps between rebuilds.
        on_train_begin: also rebuild before the first step.
    """

    def __init__(self, graph, every=500, on_train_begin=True):
        super().__init__()
        self.graph = graph
        self.every = check_int(every, "every", minimum=1)
        self.rebuild_first = bool(on_train_begin)
        self.steps = 0

    def _rebuild(self):
        self.graph.rebuild(lambda x: self.model(x, training=False))

    def on_train_begin(self, logs=None):
        if self.rebuild_first:
            self._rebuild()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % self.every == 0:
            self._rebuild()


@register_method("transitive_invariance")
def build_transitive_invariance(
    image_size=32,
    channels=3,
    encoder="nin",
    encoder_config=None,
    embedding_dim=128,
    margin=0.5,
    pairs="all",
    seed=None,
):
    """TransitiveInvariance with the NIN encoder (or `encoder`).

    Args:
        image_size: side of the square input images.
        channels: image channels.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) or
            a `keras.Model`.
        encoder_config: keyword arguments of the named encoder's builder.
        embedding_dim, margin, pairs, seed: see `TransitiveInvariance`.

    Example:

    >>> model = build_transitive_invariance(
    ...     16, encoder_config={"width": 8, "num_blocks": 3})
    >>> tuple(model.encoder.output.shape)
    (None, 4, 4, 8)
    """
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    return TransitiveInvariance(
        encoder,
        embedding_dim=embedding_dim,
        margin=margin,
        pairs=pairs,
        seed=seed,
        name="transitive_invariance",
    )
