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
from keras import ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.pretext_task import PretextTask, square_image_shape
from keras_ssl.methods.registry import register_method
from keras_ssl.ops import accuracy
from keras_ssl.ops.rotation import rotation_batch
from keras_ssl.utils.validation import check_choice, check_int, check_weight

OOD_SCORES = ("multiclass", "kl", "one_class")
# `rotation_weight=0`: a plain classifier, which logs no rotation metrics.
CLASSIFIER_METRICS = ("loss", "classification_loss", "classification_accuracy")


@keras.saving.register_keras_serializable(package="keras_ssl")
class RotationAuxiliary(PretextTask):
    """Supervised classifier with a rotation-prediction auxiliary loss.

    Reference: Hendrycks et al., NeurIPS 2019. Batches are
    `(images, labels)`: images in [-1, 1] (square), labels int (B,).
    `call(images)` returns the class logits. Training mechanics (`compile`,
    the train step, batch unpacking, serialization) come from `PretextTask`:
    the model declares `requires_labels`, minimises `loss` and logs it with
    `classification_loss`, `classification_accuracy`, and the rotation
    task's `pretext_loss` and `pretext_accuracy` (chance 1/4; not logged
    when `rotation_weight=0`).

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

    loss_name = "loss"
    chance_accuracy = 0.25  # four rotations
    requires_labels = True

    def __init__(self, encoder, num_classes, rotation_weight=0.5, **kwargs):
        context = "RotationAuxiliary"
        self.num_classes = check_int(num_classes, "num_classes", 2, context=context)
        self.rotation_weight = check_weight(
            rotation_weight, "rotation_weight", context=context
        )
        # Set before the base class builds one tracker per name.
        self.metric_names = CLASSIFIER_METRICS
        if self.rotation_weight > 0:
            self.metric_names += ("pretext_loss", "pretext_accuracy")
        super().__init__(encoder, **kwargs)
        self.image_shape = square_image_shape(encoder, context)
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.rotation_head = keras.layers.Dense(4, name="rotation_head")
        self.classifier.build((None, self.feature_dim))
        self.rotation_head.build((None, self.feature_dim))

    def call(self, images, training=False):
        images = self.batch_images(images)
        return self.classifier(self.features(images, training=training))

    def _forward_rotations(self, images, training):
        rotated, rotation_labels = rotation_batch(images)
        features = self.features(rotated, training=training)
        batch = ops.shape(images)[0]
        class_logits = self.classifier(features[:batch])
        rotation_logits = self.rotation_head(features)
        return class_logits, rotation_logits, rotation_labels

    def classification_loss(self, logits, labels):
        """Mean cross-entropy of the class logits (B, K) against labels (B,)."""
        return self.pretext_loss(logits, labels)

    def total_loss(self, class_logits, labels, rotation_logits, rotation_labels):
        """Classification loss + rotation_weight * rotation loss."""
        return self.classification_loss(
            class_logits, labels
        ) + self.rotation_weight * self.pretext_loss(rotation_logits, rotation_labels)

    def pretext_logs(self, images, training=False, labels=None):
        """The losses and accuracies of a labelled batch (see `metric_names`)."""
        if self.rotation_weight == 0.0:
            # The baseline: a plain classifier that never sees rotated images
            # (they would still shift the batch-norm statistics).
            class_logits = self(images, training=training)
            classification = self.classification_loss(class_logits, labels)
            return {
                "loss": classification,
                "classification_loss": classification,
                "classification_accuracy": accuracy(labels, class_logits),
            }
        class_logits, rotation_logits, rotation_labels = self._forward_rotations(
            images, training
        )
        classification = self.classification_loss(class_logits, labels)
        rotation = self.pretext_loss(rotation_logits, rotation_labels)
        return {
            "loss": classification + self.rotation_weight * rotation,
            "classification_loss": classification,
            "classification_accuracy": accuracy(labels, class_logits),
            "pretext_loss": rotation,
            "pretext_accuracy": self.pretext_accuracy(rotation_logits, rotation_labels),
        }

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
        images = self.batch_images(images)
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

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "rotation_weight": self.rotation_weight,
            }
        )
        return config


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
