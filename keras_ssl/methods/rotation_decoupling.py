"""Self-supervised representation learning by rotation feature decoupling.

Reference: Feng, Xu & Tao, "Self-Supervised Representation Learning by
Rotation Feature Decoupling", CVPR 2019.

Every image x_i is seen in its four rotations rot_r x_i. The pooled encoder
feature is split into a rotation-related part f_rot and a rotation-irrelevant
part f_inv (the first and second halves by default). As in the authors' code
(philiptheother/FeatureDecoupling, `DecouplingModel.py`), with
`objective="authors"` (the default):

    L = w_cls L_cls + w_mse L_mse + w_nce L_nce        (weights 1 / 1 / 1)
    L_cls = 1/(4B) sum_i sum_r c_{i,r} CE(rotation_head(f_rot(rot_r x_i)), r)
    L_mse = mean over i, r and the D_inv dimensions of
            (f_inv(rot_r x_i) - sg(fbar_i))^2,  fbar_i = 1/4 sum_r f_inv(rot_r x_i)
    L_nce = NCE of normalize(projection_128(fbar_i)) against memory-bank row
            i and 4096 bank negatives (t = 0.07, bank momentum 0.5;
            `keras_ssl.losses.nce_loss`)

The MSE acts on the raw rotation-irrelevant feature and its target, the mean
over the four copies, is held constant (`sg`, computed without gradient as
in the authors' code); the NCE embeds the mean feature (one projection of
the mean, not the mean of projections).

Per-copy weights c_{i,r} (positive-unlabeled weighting): 1 for the upright
copy (r = 0) and 1 - p_{i,r}^gamma (gamma = 2) for the rotated ones, where
p_{i,r} is the probability that rotated copy r of image i looks like an
upright image. The authors estimate p with a positive-unlabeled classifier
and switch the weights on only late in training (from epoch 210 of 245;
before that every copy has weight 1); here `estimate_copy_weights` uses a
pretrained rotation classifier's probability of "upright" for each copy as
p, `copy_weights` holds the (num_examples, 4) weights and
`weighting_start_step` is the optimizer step from which they apply (the
authors' schedule is 210/245 = 6/7 of the training steps). Without weights
every copy has weight 1 (the plain RotNet loss on f_rot).

`objective="normalized"` keeps this module's earlier variant: the
projection z_r = normalize(projection(f_inv(rot_r x_i))) of every copy,
L_mse = mean_i 1/4 sum_r ||z_r - mean_r z_r||^2 and NCE on
normalize(mean_r z_r).

Dataset format: the memory bank needs each example's index in the dataset.
Batches are `(images, indices)` or `(images, labels, indices)`: the last
element is always the int index in [0, num_examples). `indexed_dataset`
builds such a dataset from arrays, and `add_indices` numbers the examples of
a dataset in a fixed order. Shuffling must come after numbering so that an
example keeps its index across epochs. Arrays need no `tf.data`:
`fit(images, np.arange(len(images)), batch_size=...)` trains on the same
`(images, indices)` batches (on a backend without TensorFlow too).

Under `tf.distribute.MirroredStrategy` (or multi-worker): the train step
gathers the instance embeddings and indices of all replicas and every replica
applies the same bank update, so the bank copies stay equal; negatives are
drawn for the global batch and sliced per replica. With `nce_kind="softmax"`
one mirrored step equals one single-device step on the same global batch.
With `nce_kind="nce"` the bank update is the same, but the partition function
Z is estimated from each replica's own negatives (B / replicas x K samples
instead of B x K), so the NCE gradient differs slightly from a single-device
step (both are Monte-Carlo estimates of the same Z); use synchronized batch
normalization (`keras_ssl.training.synchronize_batch_norm`) for batch
statistics over the global batch.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.layers.memory_bank import MemoryBank
from keras_ssl.losses.nce import NCE_KINDS, memory_bank_nce_loss
from keras_ssl.methods.pretext_task import (  # noqa: F401 (public re-exports)
    PretextTask,
    add_indices,
    indexed_dataset,
    square_image_shape,
)
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import l2_normalize
from keras_ssl.ops.rotation import rotate90, rotation_batch
from keras_ssl.training.distribute import gather_replicas, replica_share
from keras_ssl.utils.validation import check_choice, check_int, check_number

OBJECTIVES = ("authors", "normalized")
LOSS_WEIGHT_KEYS = ("cls", "mse", "nce")


@keras.saving.register_keras_serializable(package="keras_ssl")
class RotationDecoupling(PretextTask):
    """Rotation feature decoupling (Feng et al. 2019).

    Reference: Feng, Xu & Tao, CVPR 2019. See the module docstring for the
    objective and the dataset format `(images, indices)` or
    `(images, labels, indices)`. `call(images)` returns
    `(rotation_logits, embedding)` of the upright images. Training
    mechanics (`compile`, the train step, batch unpacking, serialization)
    come from `PretextTask`: the model declares `requires_indices` and
    updates its memory bank in `after_train_step`.

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector.
        num_examples: size of the training set (rows of the memory bank).
        embedding_dim: size of the rotation-irrelevant embedding (128).
        rotation_fraction: share of the pooled feature given to the rotation
            head (the rest is the rotation-irrelevant part).
        temperature: NCE temperature (0.07).
        num_negatives: memory-bank negatives per example (4096).
        momentum: memory-bank momentum (0.5).
        loss_weights: dict with keys "cls", "mse", "nce" (1, 1, 1).
        nce_kind: "nce" (the paper's binary NCE) or "softmax"; see
            `keras_ssl.losses.nce_loss`.
        objective: `"authors"` (MSE on the raw rotation-irrelevant feature,
            NCE on the projection of its mean) or `"normalized"` (both on
            normalised projections); see the module docstring.
        copy_weights: optional array (num_examples, 4) of per-copy rotation
            weights (column r for the copy rotated by r * 90 degrees), e.g.
            from `estimate_copy_weights`; ones if None. Stored in the model's
            weights.
        weighting_start_step: optimizer step from which `copy_weights`
            apply; before it every copy has weight 1 (the authors: 6/7 of
            training).
        seed: seed of the memory bank and of negative sampling.

    Example:

    >>> import numpy as np
    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.Conv2D(8, 3)]
    ... )
    >>> model = RotationDecoupling(encoder, num_examples=20, embedding_dim=4,
    ...                            num_negatives=16)
    >>> logits, embedding = model(np.zeros((2, 8, 8, 3), "float32"))
    >>> tuple(logits.shape), tuple(embedding.shape)
    ((2, 4), (2, 4))
    """

    metric_names = ("loss", "pretext_loss", "pretext_accuracy", "mse_loss", "nce_loss")
    loss_name = "loss"
    chance_accuracy = 0.25  # four rotations
    requires_indices = True

    def __init__(
        self,
        encoder,
        num_examples,
        embedding_dim=128,
        rotation_fraction=0.5,
        temperature=0.07,
        num_negatives=4096,
        momentum=0.5,
        loss_weights=None,
        nce_kind="nce",
        objective="authors",
        copy_weights=None,
        weighting_start_step=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(encoder, **kwargs)
        context = "RotationDecoupling"
        self.objective = check_choice(objective, "objective", OBJECTIVES, context)
        self.weighting_start_step = check_int(
            weighting_start_step, "weighting_start_step", minimum=0, context=context
        )
        self.num_examples = check_int(
            num_examples, "num_examples", minimum=2, context=context
        )
        if not 0.0 < float(rotation_fraction) < 1.0:
            raise ValueError(
                "rotation_fraction must be in (0, 1). "
                f"Received: rotation_fraction={rotation_fraction!r}"
            )
        self.rotation_fraction = float(rotation_fraction)
        self.num_negatives = check_int(num_negatives, "num_negatives", context=context)
        self.nce_kind = check_choice(nce_kind, "nce_kind", NCE_KINDS, context)
        weights = dict.fromkeys(LOSS_WEIGHT_KEYS, 1.0)
        if loss_weights is not None:
            if set(loss_weights) - set(weights):
                raise ValueError(
                    f"loss_weights keys must be among {LOSS_WEIGHT_KEYS}. "
                    f"Received: loss_weights={loss_weights!r}"
                )
            weights.update({k: float(v) for k, v in loss_weights.items()})
        self.embedding_dim = int(embedding_dim)
        self.temperature = float(temperature)
        self.momentum = float(momentum)
        self.loss_weights = weights
        self.seed = seed
        self.image_shape = square_image_shape(encoder, context)
        self.rotation_head = keras.layers.Dense(4, name="rotation_head")
        self.projection = keras.layers.Dense(self.embedding_dim, name="projection")
        self.rotation_head.build((None, self._split()))
        self.projection.build((None, self.feature_dim - self._split()))
        self.memory_bank = MemoryBank(
            self.num_examples,
            self.embedding_dim,
            momentum=momentum,
            seed=seed,
            name="memory_bank",
        )
        self.copy_weights = self.add_weight(
            name="copy_weights",
            shape=(self.num_examples, 4),
            initializer="ones",
            trainable=False,
        )
        if copy_weights is not None:
            copy_weights = np.asarray(copy_weights, "float32")
            if copy_weights.shape != (self.num_examples, 4):
                raise ValueError(
                    f"copy_weights must have shape ({self.num_examples}, 4). "
                    f"Received: copy_weights.shape={copy_weights.shape}"
                )
            self.copy_weights.assign(copy_weights)

    def _split(self):
        return min(
            self.feature_dim - 1,
            max(1, int(round(self.feature_dim * self.rotation_fraction))),
        )

    def _heads(self, images, training):
        """Rotation logits and the raw rotation-irrelevant feature f_inv."""
        features = self.features(images, training=training)
        split = self._split()
        rotation_logits = self.rotation_head(features[:, :split])
        return rotation_logits, features[:, split:]

    def embed(self, invariant):
        """normalize(projection(f_inv)), the (B, embedding_dim) NCE embedding."""
        return l2_normalize(self.projection(invariant))

    def call(self, images, training=False):
        rotation_logits, invariant = self._heads(self.batch_images(images), training)
        return rotation_logits, self.embed(invariant)

    def raw_mse_loss(self, invariant):
        """The authors' MSE: f_inv of each copy against their held mean.

        `invariant` is rotation-major (4B, D_inv). Returns the loss and the
        mean feature fbar (B, D_inv) (with gradient, for the NCE).
        """
        per_rotation = ops.reshape(invariant, (4, -1, ops.shape(invariant)[-1]))
        mean = ops.mean(per_rotation, axis=0)
        target = ops.stop_gradient(mean)[None]
        return ops.mean(ops.square(per_rotation - target)), mean

    def active_copy_weights(self, indices):
        """(4B,) rotation-major weights of the copies of images `indices`."""
        weights = ops.reshape(
            ops.transpose(ops.take(self.copy_weights, indices, axis=0)), (-1,)
        )
        if self.weighting_start_step > 0:
            step = (
                self.optimizer.iterations
                if getattr(self, "optimizer", None) is not None
                else 0
            )
            active = ops.cast(
                ops.greater_equal(step, self.weighting_start_step), weights.dtype
            )
            weights = active * weights + (1.0 - active)
        return weights

    def mse_loss(self, embeddings):
        """`objective="normalized"`: spread of the copies' embeddings.

        `embeddings` is rotation-major (4B, D), as from `rotation_batch`.
        """
        per_rotation = ops.reshape(embeddings, (4, -1, self.embedding_dim))
        mean = ops.mean(per_rotation, axis=0, keepdims=True)
        return ops.mean(ops.sum(ops.square(per_rotation - mean), axis=-1))

    def mean_embedding(self, embeddings):
        """normalize(mean over rotations), (B, D), the instance's feature."""
        per_rotation = ops.reshape(embeddings, (4, -1, self.embedding_dim))
        return l2_normalize(ops.mean(per_rotation, axis=0))

    def nce_loss(self, instance_embeddings, indices):
        """NCE of instance embeddings (B, D) against the memory bank."""
        batch = ops.shape(instance_embeddings)[0]
        return memory_bank_nce_loss(
            instance_embeddings,
            self.memory_bank,
            indices,
            self._negative_indices(batch),
            temperature=self.temperature,
            kind=self.nce_kind,
        )

    def _negative_indices(self, batch):
        """Noise rows (batch, num_negatives) for this replica's examples.

        Under a strategy each replica draws the negatives of the whole global
        batch from the same seed state (the seed generator advances
        identically on every replica) and keeps the rows of its own slice, so
        a mirrored step uses the negatives of a single-device step on the
        same global batch. With unequal local batches (a last partial batch)
        the rows are still valid uniform draws.
        """
        return replica_share(
            lambda rows: self.memory_bank.sample_indices((rows, self.num_negatives)),
            batch,
        )

    def pretext_outputs(self, images, training=False, indices=None):
        """The losses of a batch, and the instance embeddings for the bank."""
        rotated, rotation_labels = rotation_batch(images)
        rotation_logits, invariant = self._heads(rotated, training)
        if self.objective == "authors":
            mse, mean_feature = self.raw_mse_loss(invariant)
            instance = self.embed(mean_feature)
        else:
            embeddings = self.embed(invariant)
            mse = self.mse_loss(embeddings)
            instance = self.mean_embedding(embeddings)
        rotation = self.pretext_loss(
            rotation_logits, rotation_labels, self.active_copy_weights(indices)
        )
        nce = self.nce_loss(instance, indices)
        w = self.loss_weights
        logs = {
            "loss": w["cls"] * rotation + w["mse"] * mse + w["nce"] * nce,
            "pretext_loss": rotation,
            "pretext_accuracy": self.pretext_accuracy(rotation_logits, rotation_labels),
            "mse_loss": mse,
            "nce_loss": nce,
        }
        return logs, {"instance": ops.stop_gradient(instance), "indices": indices}

    def pretext_logs(self, images, training=False, indices=None):
        """Every logged loss (see `metric_names`) of a batch and its indices."""
        return self.pretext_outputs(images, training=training, indices=indices)[0]

    def after_train_step(self, updates):
        """Move the bank rows of the batch towards its instance embeddings."""
        # Every replica must apply the update of the whole global batch, or
        # each copy of the bank would only learn its own replica's rows.
        instance, indices = gather_replicas(updates["instance"], updates["indices"])
        self.memory_bank.update(instance, indices)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_examples": self.num_examples,
                "embedding_dim": self.embedding_dim,
                "rotation_fraction": self.rotation_fraction,
                "temperature": self.temperature,
                "num_negatives": self.num_negatives,
                "momentum": self.momentum,
                "loss_weights": dict(self.loss_weights),
                "nce_kind": self.nce_kind,
                "objective": self.objective,
                # The weights themselves are saved with the model's variables.
                "copy_weights": None,
                "weighting_start_step": self.weighting_start_step,
                "seed": self.seed,
            }
        )
        return config


def estimate_copy_weights(rotation_logits_fn, images, gamma=2.0, batch_size=256):
    """Per-copy weights (N, 4): 1 for upright copies, 1 - p^gamma otherwise.

    p_{i,r} is the probability that copy r of image i (rotated by r * 90
    degrees) is an upright image, here the probability a pretrained rotation
    classifier gives to "0 degrees" for it: a stand-in for the authors'
    positive-unlabeled classifier (upright images positive, rotated copies
    unlabeled). A rotated copy that looks upright (round objects, textures)
    gets a small weight, since its rotation label is not learnable.

    Args:
        rotation_logits_fn: a trained `RotNet` (its `rotation_logits` is
            used), or any callable from images (B, H, W, C) in [-1, 1] to
            rotation logits (B, 4).
        images: array (N, H, W, C) in [-1, 1], in dataset-index order.
        gamma: the exponent (2 in the authors' configuration).
        batch_size: images per call.

    Returns:
        float32 array (N, 4); column 0 is all ones.
    """
    if hasattr(rotation_logits_fn, "rotation_logits"):
        rotation_logits_fn = rotation_logits_fn.rotation_logits
    if not callable(rotation_logits_fn):
        raise TypeError(
            "rotation_logits_fn must be a RotNet or a callable returning (B, 4) "
            f"logits. Received: {type(rotation_logits_fn).__name__}"
        )
    check_number(gamma, "gamma", minimum=0.0, context="estimate_copy_weights")
    images = np.asarray(images, "float32")
    if images.ndim != 4:
        raise ValueError(
            f"images must be (N, H, W, C). Received: images.shape={images.shape}"
        )
    weights = np.ones((len(images), 4), "float32")
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        for k in range(1, 4):
            logits = np.asarray(rotation_logits_fn(rotate90(chunk, k)), "float64")
            shifted = logits - logits.max(axis=-1, keepdims=True)
            upright = np.exp(shifted[:, 0]) / np.exp(shifted).sum(-1)
            weights[start : start + len(chunk), k] = 1.0 - upright**gamma
    return weights


@register_method("rotation_decoupling")
def build_rotation_decoupling(
    image_size=32,
    channels=3,
    num_examples=50000,
    encoder="nin",
    encoder_config=None,
    embedding_dim=128,
    num_negatives=4096,
    temperature=0.07,
    copy_weights=None,
    weighting_start_step=0,
    objective="authors",
    seed=None,
):
    """RotationDecoupling with the NIN encoder (or `encoder`), Adam 1e-3.

    Args:
        image_size: side of the square input images.
        channels: image channels.
        num_examples: training-set size (memory-bank rows).
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) or
            a `keras.Model`; see `keras_ssl.architectures.build_encoder`.
        encoder_config: keyword arguments of the named encoder's builder,
            e.g. `{"width": 64, "num_blocks": 4}` for NIN.
        embedding_dim, num_negatives, temperature, copy_weights,
            weighting_start_step, objective, seed: see `RotationDecoupling`.
    """
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    model = RotationDecoupling(
        encoder,
        num_examples=num_examples,
        embedding_dim=embedding_dim,
        num_negatives=num_negatives,
        temperature=temperature,
        copy_weights=copy_weights,
        weighting_start_step=weighting_start_step,
        objective=objective,
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model
