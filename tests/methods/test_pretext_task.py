import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_ssl.methods.pretext_task import PretextTask
from tests.methods.pretext_helpers import random_images


class FlipPrediction(PretextTask):
    """Toy pretext task: was the image mirrored? Also logs the mean margin."""

    metric_names = PretextTask.metric_names + ("margin",)

    def __init__(self, encoder, regularization=0.0, **kwargs):
        super().__init__(encoder, **kwargs)
        self.image_shape = tuple(encoder.inputs[0].shape[1:])
        self.head = keras.layers.Dense(
            2, kernel_regularizer=keras.regularizers.L2(regularization)
        )
        self.head.build((None, self.feature_dim))

    def call(self, images, training=False):
        return self.head(self.features(self.batch_images(images), training=training))

    def pretext_logs(self, images, training=False):
        batch = ops.shape(images)[0]
        flipped = ops.concatenate([images, ops.flip(images, axis=2)], axis=0)
        labels = ops.cast(ops.arange(2 * batch) >= batch, "int32")
        logits = self(flipped, training=training)
        return {
            "pretext_loss": self.pretext_loss(logits, labels),
            "pretext_accuracy": self.pretext_accuracy(logits, labels),
            "margin": ops.mean(ops.abs(logits[:, 0] - logits[:, 1])),
        }


def _toy(regularization=0.0):
    encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    return FlipPrediction(encoder, regularization=regularization)


def test_train_step_follows_the_gradient_of_the_loss_plus_layer_losses():
    model = _toy(regularization=10.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    images = random_images(4, size=8)
    with tf.GradientTape() as tape:
        loss = model.pretext_logs(images, training=True)["pretext_loss"]
        total = loss + ops.sum(model.losses)
    variables = model.trainable_variables
    expected = [
        v.numpy() - 0.1 * g.numpy()
        for v, g in zip(variables, tape.gradient(total, variables))
    ]
    # The L2 penalty on the head is large, so dropping it would show.
    assert float(ops.sum(model.losses)) > 0.1 * float(loss)
    logs = model.train_step(images)
    for variable, value in zip(variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    assert float(logs["pretext_loss"]) == pytest.approx(float(loss), rel=1e-5)


def test_fit_logs_every_metric_and_pretext_step_gives_loss_and_accuracy():
    model = _toy()
    model.compile()
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    images = random_images(8, size=8)
    history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    assert sorted(history.history) == ["margin", "pretext_accuracy", "pretext_loss"]
    loss, accuracy = model.pretext_step(images)
    logs = model.pretext_logs(images)
    assert float(loss) == pytest.approx(float(logs["pretext_loss"]))
    assert float(accuracy) == pytest.approx(float(logs["pretext_accuracy"]))


def test_batch_images_takes_arrays_tuples_and_dicts_and_fixes_the_shape():
    model = _toy()
    images = random_images(2, size=8)
    for batch in (images, (images, np.zeros(2)), {"images": images}):
        assert tuple(model.batch_images(batch).shape) == (2, 8, 8, 3)
    assert tuple(model.batch_images(images.reshape(2, -1)).shape) == (2, 8, 8, 3)


def test_a_hook_that_is_missing_or_incomplete_is_a_clear_error():
    encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    with pytest.raises(NotImplementedError, match="must implement pretext_logs"):
        PretextTask(encoder).pretext_logs(random_images(2, size=8))

    class LossOnly(FlipPrediction):
        def pretext_logs(self, images, training=False):
            return {"pretext_loss": super().pretext_logs(images)["pretext_loss"]}

    model = LossOnly(encoder)
    with pytest.raises(ValueError, match="must return the keys"):
        model.test_step(random_images(2, size=8))


class LabelledCounter(FlipPrediction):
    """Toy task that needs labels and indices and keeps a running state."""

    chance_accuracy = 0.5
    requires_labels = True
    requires_indices = True

    def __init__(self, encoder, **kwargs):
        super().__init__(encoder, **kwargs)
        self.seen = self.add_weight(
            name="seen", shape=(), initializer="zeros", trainable=False
        )

    def pretext_outputs(self, images, training=False, labels=None, indices=None):
        logs = super().pretext_logs(images, training=training)
        # The labels and indices of the batch reach the hook.
        return logs, {"total": ops.cast(ops.sum(labels) + ops.sum(indices), "float32")}

    def pretext_logs(self, images, training=False, labels=None, indices=None):
        return self.pretext_outputs(images, training, labels, indices)[0]

    def after_train_step(self, updates):
        self.seen.assign_add(updates["total"])


def _counter():
    encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    return LabelledCounter(encoder)


def test_batches_carry_the_labels_and_indices_a_task_requires():
    model = _counter()
    images = random_images(2, size=8)
    labels, indices = np.array([3, 4]), np.array([[7], [1]])
    for batch in (
        (images, labels, indices),
        {"images": images, "labels": labels, "indices": indices},
    ):
        unpacked, targets = model.unpack_batch(batch)
        assert tuple(unpacked.shape) == (2, 8, 8, 3)
        np.testing.assert_array_equal(np.asarray(targets["labels"]), [3, 4])
        np.testing.assert_array_equal(np.asarray(targets["indices"]), [7, 1])
    # Indices are last: (images, indices) has no labels.
    with pytest.raises(ValueError, match=r"labels, indices\).*without labels"):
        model.unpack_batch((images, indices))
    with pytest.raises(ValueError, match="without indices"):
        model.unpack_batch({"images": images, "labels": labels})
    # A task that needs nothing ignores what a batch carries.
    assert _toy().unpack_batch((images, labels, indices))[1] == {}
    with pytest.raises(ValueError, match="labels=None"):
        model.training_data(random_images(4, size=8))
    assert model.pretext_chance(64) == 0.5 and _toy().pretext_chance(64) is None


def test_after_train_step_applies_the_updates_of_each_step():
    model = _counter()
    model.compile()
    images = random_images(6, size=8)
    labels = np.array([1, 0, 2, 0, 1, 1])
    dataset, callbacks = model.training_data(images, labels, batch_size=3, seed=0)
    assert callbacks == []
    element = next(iter(dataset))
    assert len(element) == 3  # (images, labels, indices), indices = rows
    np.testing.assert_array_equal(
        labels[np.asarray(element[2])], np.asarray(element[1])
    )
    model.fit(dataset, epochs=2, verbose=0)
    # Every image seen twice: 2 * (sum of labels + sum of row indices).
    assert float(model.seen) == pytest.approx(2 * (labels.sum() + 15))
    loss, logs, updates = model.compute_pretext(element, training=False)
    assert float(loss) == pytest.approx(float(logs["pretext_loss"]))
    assert set(updates) == {"total"}
