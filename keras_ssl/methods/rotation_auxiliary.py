"""Rotation prediction as an auxiliary loss for robustness and OOD detection.

Reference: Hendrycks, Mazeika, Kadavath & Song, "Using Self-Supervised
Learning Can Improve Model Robustness and Uncertainty", NeurIPS 2019.

A supervised classifier shares its encoder with a 4-way rotation head:

    L = CE(classifier(x), y) + lambda * 1/4 sum_r CE(rotation_head(rot_r x), r)

with lambda = 0.5 by default (the paper's value in its robustness
experiments; the authors' OOD code goes up to 3.0).

Out-of-distribution scores (`ood_score(images, score=...)`, higher = more
anomalous), as in the authors' code (hendrycks/ss-ood):

- `"multiclass"` (default; `multiclass_ood/test_auxiliary_ood.py`):

      score(x) = -KL(U || softmax(classifier(x)))
                 + 1/4 sum_r CE(rotation_head(rot_r x), r)

  A confident class prediction is far from uniform, so its -KL is low
  (in-distribution); a rotation the network cannot tell is a high loss
  (anomalous). The authors take logs in base 2; the natural log used here
  scales the score by 1/ln 2, which leaves every ranking and AUROC unchanged.
- `"kl"`: the -KL(U || p) term alone (the classifier-confidence baseline).
- `"one_class"` (`test.py`, the one-class detector, rotations only):

      score(x) = -sum_r softmax(rotation_head(rot_r x))_r

  minus the summed probability the rotation head gives to the correct
  rotation of each copy; it needs no class head.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.rotation import rotation_batch
from keras_ssl.utils.validation import check_choice

OOD_SCORES = ("multiclass", "kl", "one_class")


@keras.saving.register_keras_serializable(package="keras_ssl")
class RotationAuxiliary(keras.Model):
    """Supervised classifier with a rotation-prediction auxiliary loss.

    Reference: Hendrycks et al., NeurIPS 2019. Batches are
    `(images, labels)`: images in [-1, 1] (square), labels int (B,).
    `call(images)` returns the class logits.

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector.
        num_classes: number of classes of the supervised task.
        rotation_weight: lambda, the weight of the rotation loss; 0 trains a
            plain classifier on upright images only (the baseline; the
            rotation head then stays untrained and
            `ood_score(..., score="kl")` is the fair score).

    Example:

    >>> import numpy as np
    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)]
    ... )
    >>> model = RotationAuxiliary(encoder, num_classes=10)
    >>> tuple(model(np.zeros((2, 8, 8, 3), "float32")).shape)
    (2, 10)
    >>> tuple(model.ood_score(np.zeros((2, 8, 8, 3), "float32")).shape)
    (2,)
    """

    def __init__(self, encoder, num_classes, rotation_weight=0.5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                "num_classes must be an int >= 2. "
                f"Received: num_classes={num_classes!r}"
            )
        if float(rotation_weight) < 0:
            raise ValueError(
                "rotation_weight must be >= 0. "
                f"Received: rotation_weight={rotation_weight!r}"
            )
        self.encoder = encoder
        self.num_classes = num_classes
        self.rotation_weight = float(rotation_weight)
        self.pooling, self.feature_dim = vector_pooling(encoder)
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        if len(self.image_shape) != 3 or self.image_shape[0] != self.image_shape[1]:
            raise ValueError(
                "RotationAuxiliary needs an encoder of square images (B, H, H, C) "
                "so that rotated copies stack. "
                f"Received: encoder input shape={self.image_shape}"
            )
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.rotation_head = keras.layers.Dense(4, name="rotation_head")
        self.classifier.build((None, self.feature_dim))
        self.rotation_head.build((None, self.feature_dim))
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.classification_loss_tracker = keras.metrics.Mean(
            name="classification_loss"
        )
        self.classification_accuracy_tracker = keras.metrics.Mean(
            name="classification_accuracy"
        )
        self.pretext_loss_tracker = keras.metrics.Mean(name="pretext_loss")
        self.pretext_accuracy_tracker = keras.metrics.Mean(name="pretext_accuracy")

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.classification_loss_tracker,
            self.classification_accuracy_tracker,
            self.pretext_loss_tracker,
            self.pretext_accuracy_tracker,
        ]

    def _with_static_shape(self, images):
        # Datasets of images of undecided size carry no static H, W; the
        # encoder fixes them, and static shapes keep the tensor ops in-graph.
        if None not in self.image_shape:
            images = ops.reshape(images, (-1,) + self.image_shape)
        return images

    def features(self, images, training=False):
        """Pooled encoder features (B, D)."""
        x = self.encoder(images, training=training)
        return self.pooling(x)

    def call(self, images, training=False):
        if isinstance(images, (tuple, list)):
            images = images[0]
        return self.classifier(self.features(images, training=training))

    def _forward_rotations(self, images, training):
        rotated, rotation_labels = rotation_batch(images)
        features = self.features(rotated, training=training)
        batch = ops.shape(images)[0]
        class_logits = self.classifier(features[:batch])
        rotation_logits = self.rotation_head(features)
        return class_logits, rotation_logits, rotation_labels

    def classification_loss(self, labels, logits):
        """Mean cross-entropy of the class logits."""
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
        )

    def pretext_loss(self, rotation_labels, rotation_logits):
        """Mean 4-way rotation cross-entropy."""
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(
                rotation_labels, rotation_logits, from_logits=True
            )
        )

    def total_loss(self, labels, class_logits, rotation_labels, rotation_logits):
        """Classification loss + rotation_weight * rotation loss."""
        return self.classification_loss(
            labels, class_logits
        ) + self.rotation_weight * self.pretext_loss(rotation_labels, rotation_logits)

    def ood_score(self, images, score="multiclass"):
        """Anomaly score (B,) of images in [-1, 1]; higher = more out-of-distribution.

        Args:
            images: (B, H, W, C) images in [-1, 1].
            score: `"multiclass"` (-KL(U || p) plus the rotation loss averaged
                over the four rotations, the authors' multi-class detector),
                `"kl"` (-KL(U || p) only) or `"one_class"` (minus the summed
                softmax probability of the correct rotation); see the module
                docstring.
        """
        check_choice(score, "score", OOD_SCORES, context="RotationAuxiliary.ood_score")
        images = self._with_static_shape(images)
        class_logits, rotation_logits, rotation_labels = self._forward_rotations(
            images, training=False
        )
        if score == "one_class":
            probabilities = ops.softmax(rotation_logits, axis=-1)
            correct = ops.take_along_axis(
                probabilities, ops.expand_dims(rotation_labels, -1), axis=-1
            )
            return -ops.sum(ops.reshape(correct, (4, -1)), axis=0)
        # KL(U || p) = -log K - mean_k log p_k >= 0, zero for a uniform p.
        log_probs = ops.log_softmax(class_logits, axis=-1)
        kl = -math.log(self.num_classes) - ops.mean(log_probs, axis=-1)
        if score == "kl":
            return -kl
        per_rotation = keras.losses.sparse_categorical_crossentropy(
            rotation_labels, rotation_logits, from_logits=True
        )
        return -kl + ops.mean(ops.reshape(per_rotation, (4, -1)), axis=0)

    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                "RotationAuxiliary trains on batches of (images, labels). "
                f"Received: a batch of type {type(data).__name__}"
            )
        return self._with_static_shape(data[0]), data[1]

    def _update_metrics(self, labels, class_logits, rotation_labels, rotation_logits):
        classification = self.classification_loss(labels, class_logits)
        rotation = self.pretext_loss(rotation_labels, rotation_logits)
        self.loss_tracker.update_state(classification + self.rotation_weight * rotation)
        self.classification_loss_tracker.update_state(classification)
        self.classification_accuracy_tracker.update_state(
            _accuracy(labels, class_logits)
        )
        self.pretext_loss_tracker.update_state(rotation)
        self.pretext_accuracy_tracker.update_state(
            _accuracy(rotation_labels, rotation_logits)
        )

    def train_step(self, data):
        images, labels = self._unpack(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if self.rotation_weight == 0.0:
            # The baseline: a plain classifier that never sees rotated images
            # (they would still shift the batch-norm statistics).
            with tf.GradientTape() as tape:
                class_logits = self(images, training=True)
                loss = self.classification_loss(labels, class_logits)
                scaled = loss / replicas
            variables = self.trainable_variables
            gradients = tape.gradient(scaled, variables)
            self.optimizer.apply_gradients(
                (g, v) for g, v in zip(gradients, variables) if g is not None
            )
            self.loss_tracker.update_state(loss)
            self.classification_loss_tracker.update_state(loss)
            self.classification_accuracy_tracker.update_state(
                _accuracy(labels, class_logits)
            )
            return {m.name: m.result() for m in self.metrics}
        with tf.GradientTape() as tape:
            class_logits, rotation_logits, rotation_labels = self._forward_rotations(
                images, training=True
            )
            loss = self.total_loss(
                labels, class_logits, rotation_labels, rotation_logits
            )
            scaled = loss / replicas
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self._update_metrics(labels, class_logits, rotation_labels, rotation_logits)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        images, labels = self._unpack(data)
        class_logits, rotation_logits, rotation_labels = self._forward_rotations(
            images, training=False
        )
        self._update_metrics(labels, class_logits, rotation_labels, rotation_logits)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_classes": self.num_classes,
                "rotation_weight": self.rotation_weight,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


def _accuracy(labels, logits):
    predicted = ops.argmax(logits, axis=-1)
    return ops.mean(
        ops.cast(
            ops.equal(ops.cast(predicted, "int32"), ops.cast(labels, "int32")),
            "float32",
        )
    )


@register_method("rotation_auxiliary")
def build_rotation_auxiliary(
    image_size=32,
    channels=3,
    num_classes=10,
    encoder="nin",
    encoder_config=None,
    rotation_weight=0.5,
):
    """RotationAuxiliary with the NIN encoder (or `encoder`), Adam 1e-3.

    Args:
        image_size: side of the square input images.
        channels: image channels.
        num_classes: classes of the supervised task.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) or
            a `keras.Model`; see `keras_ssl.architectures.build_encoder`.
        encoder_config: keyword arguments of the named encoder's builder,
            e.g. `{"width": 64, "num_blocks": 4}` for NIN.
        rotation_weight: see `RotationAuxiliary`.
    """
    encoder = build_encoder(encoder, (image_size, image_size, channels), encoder_config)
    model = RotationAuxiliary(
        encoder, num_classes=num_classes, rotation_weight=rotation_weight
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model
