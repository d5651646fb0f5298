"""Training mechanics shared by the pretext-task methods.

A pretext task turns unlabeled images into a supervised problem (predict a
rotation, a tile permutation, a relative position, ...) whose solution needs
good features. The methods differ in that problem only; `PretextTask` holds
what they share: the encoder and its pooling, the default optimizer,
`train_step` and `test_step`, the metric trackers, serialization of the
encoder, and the classification loss and accuracy of a pretext label. It
holds no paper's logic: each method module states its own objective.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling


@keras.saving.register_keras_serializable(package="keras_ssl")
class PretextTask(keras.Model):
    """Base class of pretext-task methods: one encoder, one minimised loss.

    A subclass builds its heads (every sub-layer, in its constructor), sets
    `image_shape`, and implements one hook:

        pretext_logs(images, training=False) -> dict

    which maps every name of `metric_names` to a scalar for a batch of
    images (B, H, W, C) in [-1, 1]; `"pretext_loss"` is the loss that
    `train_step` minimises. The base class provides the rest:

    - `train_step`: gradient of `pretext_loss` plus the layers' own losses
      (`self.losses`), divided by the number of replicas in sync so that
      gradients summed over replicas are those of the global-batch mean;
    - `test_step`, and `metrics`: one `keras.metrics.Mean` per name of
      `metric_names` (by default `pretext_loss` and `pretext_accuracy`);
    - `pretext_step(images, training)` -> `(loss, accuracy)`, the interface
      through which `MultiTask` combines tasks;
    - `compile(optimizer=None)`, which falls back to `default_optimizer()`
      (Adam 1e-3 unless a subclass overrides it), and `compile_from_config`
      so that a saved model resumes training with its optimizer state;
    - `features(images)`: pooled encoder features (B, D);
    - `pretext_loss(logits, labels)` and `pretext_accuracy(logits, labels)`:
      mean cross-entropy and accuracy of integer pretext labels, for tasks
      that are classifications (others override them);
    - `get_config` / `from_config` for the `encoder` argument (subclasses
      add their own arguments to `get_config`);
    - what a benchmark needs to run any task without knowing it:
      `pretext_chance(batch_size)`, the chance level of `pretext_accuracy`
      (None where it has none, the default), and
      `training_data(images, labels, batch_size, seed)` -> `(dataset,
      callbacks)`, the `fit` input a task trains on from arrays (shuffled
      `(images, labels)` batches by default; tasks that need example
      indices or a neighbour graph override it).

    Fit batches may be images, `(images, labels, ...)` whose labels are
    ignored, or `{"images": images}`.

    Args:
        encoder: a `keras.Model` from images (or tiles, patches) to a feature
            map, token sequence or vector; exposed as `.encoder`.
        **kwargs: `keras.Model` arguments (name, ...).

    Example:

    >>> import numpy as np
    >>> class FlipPrediction(PretextTask):
    ...     def __init__(self, encoder, **kwargs):
    ...         super().__init__(encoder, **kwargs)
    ...         self.image_shape = tuple(encoder.inputs[0].shape[1:])
    ...         self.head = keras.layers.Dense(2)
    ...         self.head.build((None, self.feature_dim))
    ...     def call(self, images, training=False):
    ...         return self.head(self.features(images, training=training))
    ...     def pretext_logs(self, images, training=False):
    ...         batch = ops.shape(images)[0]
    ...         flipped = ops.concatenate([images, ops.flip(images, axis=2)], 0)
    ...         labels = ops.cast(ops.arange(2 * batch) >= batch, "int32")
    ...         logits = self(flipped, training=training)
    ...         return {
    ...             "pretext_loss": self.pretext_loss(logits, labels),
    ...             "pretext_accuracy": self.pretext_accuracy(logits, labels),
    ...         }
    >>> encoder = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    >>> model = FlipPrediction(encoder)
    >>> model.compile()
    >>> images = np.random.uniform(-1, 1, (8, 8, 8, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['pretext_accuracy', 'pretext_loss']
    """

    metric_names = ("pretext_loss", "pretext_accuracy")

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.pooling, self.feature_dim = vector_pooling(encoder)
        self.encoder = encoder
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in self.metric_names
        }
        # Subclasses build every sub-layer in their constructor; marking the
        # model built lets `save` and `compile_from_config` see its variables
        # before any call.
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        self.built = True

    def default_optimizer(self):
        """The optimizer `compile()` uses when none is given: Adam(1e-3)."""
        return keras.optimizers.Adam(1e-3)

    def compile(self, optimizer=None, **kwargs):
        """Configure training; `optimizer` defaults to `default_optimizer()`.

        Args:
            optimizer: a Keras optimizer or its name.
            **kwargs: other `keras.Model.compile` arguments.
        """
        if optimizer is None:
            optimizer = self.default_optimizer()
        super().compile(optimizer=optimizer, **kwargs)

    def compile_from_config(self, config):
        # `compile` is overridden only to supply a default optimizer, so the
        # saved compile arguments apply unchanged (optimizer state included).
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def batch_images(self, data):
        """The images of a batch, with the static shape `image_shape`."""
        if isinstance(data, dict):
            data = data["images"]
        elif isinstance(data, list | tuple):
            data = data[0]
        if None not in self.image_shape:
            # Datasets of undecoded-size images carry no static H, W; rotations,
            # tiles and patches need them to stay in-graph.
            data = ops.reshape(data, (-1,) + tuple(self.image_shape))
        return data

    def features(self, images, training=False):
        """Pooled encoder features (B, D) of images in [-1, 1]."""
        return self.pooling(self.encoder(images, training=training))

    def pretext_logs(self, images, training=False):
        """Every metric of `metric_names` for a batch; subclasses implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement pretext_logs(images, training) "
            f"returning a dict with the keys {self.metric_names}."
        )

    def pretext_chance(self, batch_size):
        """Chance level of `pretext_accuracy` for `batch_size` images (None: none)."""
        return None

    def training_data(self, images, labels=None, batch_size=64, seed=0):
        """`(dataset, callbacks)` that `fit` trains this task on, from arrays.

        Args:
            images: array (N, H, W, C) in [-1, 1].
            labels: optional int array (N,) (ignored by pretext tasks).
            batch_size: images per batch (the last partial batch is dropped).
            seed: shuffling seed.
        """
        return _array_batches(images, labels, batch_size, seed), []

    def pretext_step(self, images, training=False):
        """`(loss, accuracy)` of a batch of images, as `MultiTask` combines them."""
        logs = self.pretext_logs(images, training=training)
        return logs["pretext_loss"], logs["pretext_accuracy"]

    def pretext_loss(self, logits, labels):
        """Mean cross-entropy of pretext logits (N, K) against labels (N,)."""
        return ops.mean(
            keras.losses.sparse_categorical_crossentropy(
                labels, logits, from_logits=True
            )
        )

    def pretext_accuracy(self, logits, labels):
        """Fraction of pretext labels whose logit is the largest."""
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        return ops.mean(ops.cast(ops.equal(predicted, labels), "float32"))

    def _record(self, logs):
        if set(logs) != set(self.metric_names):
            raise ValueError(
                f"{type(self).__name__}.pretext_logs must return the keys "
                f"{self.metric_names}. Received: keys {tuple(logs)}"
            )
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        images = self.batch_images(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            logs = self.pretext_logs(images, training=True)
            total = logs["pretext_loss"]
            if self.losses:
                total = total + ops.sum(self.losses)
            scaled = total / replicas
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._record(logs)

    def test_step(self, data):
        return self._record(self.pretext_logs(self.batch_images(data), training=False))

    def get_config(self):
        config = super().get_config()
        config.update({"encoder": keras.saving.serialize_keras_object(self.encoder)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


def _array_batches(images, labels, batch_size, seed):
    images = np.asarray(images, "float32")
    if labels is None:
        labels = np.zeros(len(images), "int32")
    return (
        tf.data.Dataset.from_tensor_slices((images, np.asarray(labels)))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def image_size_pair(image_size):
    """`(height, width)` from an int or a pair, with a clear error otherwise."""
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    image_size = tuple(image_size)
    if len(image_size) != 2 or not all(
        isinstance(v, int) and v > 0 for v in image_size
    ):
        raise ValueError(
            "image_size must be an int or a pair of positive ints. "
            f"Received: image_size={image_size}"
        )
    return image_size


def encoder_channels(encoder):
    """The input channels of `encoder`, which must be declared."""
    channels = encoder.inputs[0].shape[-1]
    if channels is None:
        raise ValueError(
            "encoder must declare its input channels. Received: encoder "
            f"input shape={tuple(encoder.inputs[0].shape)}"
        )
    return int(channels)


def build_part_encoder(encoder, part_size, channels, encoder_config=None):
    """The shared encoder of a task that embeds tiles or patches of images.

    A name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) is built with
    `encoder_config` for inputs of any size, so that the trained `.encoder`
    embeds parts during training and whole images afterwards (linear probes,
    fine-tuning); the default NIN has 3 blocks of width 64. A `keras.Model`
    must take (part_size, part_size, channels) inputs.
    """
    if encoder == "nin" and encoder_config is None:
        encoder_config = {"width": 64, "num_blocks": 3}
    if isinstance(encoder, str):
        shape = (None, None, channels)
    else:
        shape = (part_size, part_size, channels)
    return build_encoder(encoder, shape, encoder_config)
