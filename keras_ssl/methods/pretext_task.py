"""Training mechanics shared by the pretext-task methods.

A pretext task turns unlabeled images into a supervised problem (predict a
rotation, a tile permutation, a relative position, ...) whose solution needs
good features. The methods differ in that problem only; `PretextTask` holds
what they share: the encoder and its pooling, the default optimizer,
`train_step` and `test_step`, the metric trackers, serialization of the
encoder, the unpacking of batches (images, and class labels or example
indices for the tasks that need them), and the classification loss and
accuracy of a pretext label. It holds no paper's logic: each method module
states its own objective.
"""

import keras
import numpy as np
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling
from keras_ssl.methods import backend_step
from keras_ssl.ops import accuracy, with_static_shape
from keras_ssl.training.distribute import num_replicas


@keras.saving.register_keras_serializable(package="keras_ssl")
class PretextTask(keras.Model):
    """Base class of pretext-task methods: one encoder, one minimised loss.

    A subclass builds its heads (every sub-layer, in its constructor), sets
    `image_shape`, and implements one hook:

        pretext_logs(images, training=False, **targets) -> dict

    which maps every name of `metric_names` to a scalar for a batch of
    images (B, H, W, C) in [-1, 1]; the entry `loss_name` (`"pretext_loss"`
    by default) is the loss that training minimises. `targets` holds what
    the class declares it needs from each batch:

    - `labels=` (int (B,)) when `requires_labels` is True (a task with a
      supervised term, e.g. `RotationAuxiliary`);
    - `indices=` (int (B,), the examples' rows in the dataset) when
      `requires_indices` is True (a task with a memory bank, e.g.
      `RotationDecoupling`).

    A task whose step also changes state outside the gradient (a memory
    bank) implements `pretext_outputs(images, training, **targets) ->
    (logs, updates)` instead, and `after_train_step(updates)`, which the
    train step calls after the optimizer step.

    Class attributes a subclass sets (or overrides as properties when they
    depend on constructor arguments): `metric_names`, `loss_name`,
    `chance_accuracy` (the chance level of `pretext_accuracy`; None where it
    has none), `requires_labels`, `requires_indices`. From them the base
    class provides:

    - `compute_pretext(data, training)` -> `(loss, logs, updates)`: the
      forward pass and losses of one batch in `keras.ops` only (the loss
      includes the layers' own losses `self.losses` in training), shared by
      every backend's train step;
    - `train_step`: the gradient of that loss divided by the number of
      replicas in sync, so that gradients summed over replicas are those of
      the global-batch mean, then `after_train_step(updates)`; written once
      through `keras_ssl.methods.backend_step` (a `tf.GradientTape` on
      TensorFlow, Keras' stateless `train_step(state, data)` on JAX);
    - `test_step`, and `metrics`: one `keras.metrics.Mean` per name of
      `metric_names` (by default `pretext_loss` and `pretext_accuracy`);
    - `unpack_batch(data)` -> `(images, targets)` and `batch_images(data)`:
      batches are images, tuples `(images, labels, ...)`, `(images, indices)`
      or `(images, labels, indices)` (indices are always last), or dicts with
      the keys `"images"`, `"labels"`, `"indices"`; images get the static
      shape `image_shape`; a missing label or index is an error naming the
      batch format;
    - `pretext_step(images, training)` -> `(loss, accuracy)`, the interface
      through which `MultiTask` combines tasks;
    - `compile(optimizer=None)`, which falls back to `default_optimizer()`
      (Adam 1e-3 unless a subclass overrides it), and `compile_from_config`
      so that a saved model resumes training with its optimizer state;
    - `features(images)`: pooled encoder features (B, D);
    - `pretext_loss(logits, labels, weights=None)` and
      `pretext_accuracy(logits, labels)`: mean (optionally weighted)
      cross-entropy and accuracy of integer pretext labels, for tasks that
      are classifications (others override them);
    - `get_config` / `from_config` for the `encoder` argument (subclasses
      add their own arguments to `get_config`);
    - what a benchmark needs to run any task without knowing it:
      `pretext_chance(batch_size)` (`chance_accuracy` unless a task's chance
      depends on the batch) and `training_data(images, labels, batch_size,
      seed)` -> `(dataset, callbacks)`, the `fit` input built from arrays:
      shuffled batches carrying the labels and indices the task requires
      (tasks that need a neighbour graph override it).

    Args:
        encoder: a `keras.Model` from images (or tiles, patches) to a feature
            map, token sequence or vector; exposed as `.encoder`.
        **kwargs: `keras.Model` arguments (name, ...).

    Example:

    >>> import numpy as np
    >>> class FlipPrediction(PretextTask):
    ...     chance_accuracy = 0.5
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
    >>> sorted(history.history), model.pretext_chance(4)
    (['pretext_accuracy', 'pretext_loss'], 0.5)
    """

    metric_names = ("pretext_loss", "pretext_accuracy")
    # The entry of `pretext_logs` that training minimises.
    loss_name = "pretext_loss"
    # Chance level of `pretext_accuracy` (None: none, e.g. a mean of tasks).
    chance_accuracy = None
    # What every batch must carry besides the images.
    requires_labels = False
    requires_indices = False

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

    # ------------------------------------------------------------ batches
    def batch_images(self, data):
        """The images of a batch, with the static shape `image_shape`."""
        if isinstance(data, dict):
            data = data["images"]
        elif isinstance(data, list | tuple):
            data = data[0]
        # Datasets of undecoded-size images carry no static H, W; rotations,
        # tiles and patches need them to stay in-graph.
        return with_static_shape(data, self.image_shape)

    def batch_format(self):
        """The batch structure this task trains on, for error messages."""
        if self.requires_labels and self.requires_indices:
            return "(images, labels, indices)"
        if self.requires_indices:
            return "(images, indices) or (images, labels, indices)"
        if self.requires_labels:
            return "(images, labels)"
        return "images or (images, ...)"

    def unpack_batch(self, data):
        """`(images, targets)` of a batch; `targets` has what the task requires.

        `targets` holds `labels` (int32) when `requires_labels` and `indices`
        (int32, flat) when `requires_indices`, so that it can be passed on as
        `pretext_logs(images, training, **targets)`.
        """
        images = self.batch_images(data)
        labels = indices = None
        if isinstance(data, dict):
            labels, indices = data.get("labels"), data.get("indices")
        elif isinstance(data, list | tuple):
            rest = list(data[1:])
            if self.requires_indices and rest:
                indices = rest.pop()
            if rest:
                labels = rest[0]
        targets = {}
        for name, value, required in (
            ("labels", labels, self.requires_labels),
            ("indices", indices, self.requires_indices),
        ):
            if not required:
                continue
            if value is None:
                raise ValueError(
                    f"{type(self).__name__} trains on batches of "
                    f"{self.batch_format()}, or dicts with the key '{name}'; "
                    "`training_data` builds them from arrays. Received: a batch "
                    f"without {name}, of type {type(data).__name__}"
                )
            targets[name] = ops.cast(ops.reshape(value, (-1,)), "int32")
        return images, targets

    # ------------------------------------------------------------ hooks
    def features(self, images, training=False):
        """Pooled encoder features (B, D) of images in [-1, 1]."""
        return self.pooling(self.encoder(images, training=training))

    def pretext_logs(self, images, training=False, **targets):
        """Every metric of `metric_names` for a batch; subclasses implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement pretext_logs(images, training) "
            f"returning a dict with the keys {self.metric_names}."
        )

    def pretext_outputs(self, images, training=False, **targets):
        """`(logs, updates)`: `pretext_logs` and the state for `after_train_step`.

        The default has no updates (an empty dict); a task that changes state
        after each optimizer step (a memory bank) overrides this and
        `after_train_step`.
        """
        return self.pretext_logs(images, training=training, **targets), {}

    def after_train_step(self, updates):
        """Apply `updates` from `pretext_outputs` after the optimizer step."""
        del updates

    def compute_pretext(self, data, training=False):
        """`(loss, logs, updates)` of a batch: forward pass and losses.

        Written in `keras.ops` only, so that the train step of any backend
        differentiates `loss` (the `loss_name` entry of the logs, plus the
        layers' own losses in training) and records `logs`.
        """
        images, targets = self.unpack_batch(data)
        logs, updates = self.pretext_outputs(images, training=training, **targets)
        if set(logs) != set(self.metric_names):
            raise ValueError(
                f"{type(self).__name__}.pretext_logs must return the keys "
                f"{self.metric_names}. Received: keys {tuple(logs)}"
            )
        loss = logs[self.loss_name]
        if training and self.losses:
            loss = loss + ops.sum(self.losses)
        return loss, logs, updates

    def pretext_chance(self, batch_size):
        """Chance level of `pretext_accuracy` for `batch_size` images (None: none).

        `chance_accuracy` by default; tasks whose chance depends on the
        batch (in-batch negatives) override this.
        """
        return self.chance_accuracy

    def training_data(self, images, labels=None, batch_size=64, seed=0):
        """`(dataset, callbacks)` that `fit` trains this task on, from arrays.

        Shuffled `(images, labels)` batches, `(images, indices)` or `(images,
        labels, indices)` when the task requires indices (the row of each
        image in `images`, fixed across epochs).

        Args:
            images: array (N, H, W, C) in [-1, 1].
            labels: int array (N,); required when `requires_labels`, ignored
                by pretext tasks otherwise.
            batch_size: images per batch (the last partial batch is dropped).
            seed: shuffling seed.
        """
        if self.requires_labels and labels is None:
            raise ValueError(
                f"{type(self).__name__} trains on labelled images: pass labels "
                "to training_data. Received: labels=None"
            )
        if self.requires_indices:
            dataset = indexed_dataset(
                images, labels, batch_size=batch_size, seed=seed, drop_remainder=True
            )
            return dataset, []
        images = np.asarray(images, "float32")
        if labels is None:
            labels = np.zeros(len(images), "int32")
        labels = np.asarray(labels)
        if keras.backend.backend() != "tensorflow":
            return ArrayBatches((images, labels), batch_size, seed=seed), []
        import tensorflow as tf

        return (
            tf.data.Dataset.from_tensor_slices((images, labels))
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
        ), []

    def pretext_step(self, images, training=False):
        """`(loss, accuracy)` of a batch of images, as `MultiTask` combines them."""
        logs = self.pretext_logs(images, training=training)
        return logs["pretext_loss"], logs["pretext_accuracy"]

    def pretext_loss(self, logits, labels, weights=None):
        """Mean cross-entropy of pretext logits (N, K) against labels (N,).

        With `weights` (N,), the mean of the weighted per-example losses
        (sum(w * CE) / N).
        """
        per_example = keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True
        )
        if weights is not None:
            per_example = per_example * weights
        return ops.mean(per_example)

    def pretext_accuracy(self, logits, labels):
        """Fraction of pretext labels whose logit is the largest."""
        return accuracy(labels, logits)

    # ------------------------------------------------------------ steps
    def _record(self, logs):
        for name, value in logs.items():
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    @backend_step.stateless_on_jax
    def train_step(self, data):
        # `backend_step`: a tf.GradientTape on TensorFlow; on JAX, Keras'
        # `train_step(state, data)` with jax.value_and_grad.
        replicas = num_replicas()

        def scaled_loss():
            loss, logs, updates = self.compute_pretext(data, training=True)
            return loss / replicas, (logs, updates)

        variables = self.trainable_variables
        _, (logs, updates), gradients = backend_step.value_and_gradients(
            scaled_loss, variables
        )
        # Variables outside the loss (e.g. a head a loss weight switched off)
        # have no gradient and are left alone (on JAX their gradient is 0).
        kept = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        backend_step.apply_gradients(
            self.optimizer, [g for g, _ in kept], [v for _, v in kept]
        )
        self.after_train_step(updates)
        return self._record(logs)

    @backend_step.stateless_on_jax
    def test_step(self, data):
        _, logs, _ = self.compute_pretext(data, training=False)
        return self._record(logs)

    def get_config(self):
        config = super().get_config()
        config.update({"encoder": keras.saving.serialize_keras_object(self.encoder)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


def square_image_shape(encoder, method):
    """`(H, W, C)` of an encoder of square images, which rotations need."""
    shape = tuple(encoder.inputs[0].shape[1:])
    if len(shape) != 3 or (
        shape[0] is not None and shape[1] is not None and shape[0] != shape[1]
    ):
        raise ValueError(
            f"{method} needs an encoder of square images (B, H, H, C) so that "
            "rotated copies have the same shape. "
            f"Received: encoder input shape={(None,) + shape}"
        )
    return shape


def indexed_dataset(
    images, labels=None, batch_size=64, shuffle=True, seed=None, drop_remainder=False
):
    """Batches of `(images, indices)` (or `(images, labels, indices)`).

    Index i is row i of `images`, fixed across epochs; batches are shuffled
    each epoch when `shuffle`. Tasks with a memory bank (`requires_indices`)
    train on such batches. A `tf.data.Dataset` under the TensorFlow backend,
    an `ArrayBatches` (a `keras.utils.PyDataset`) under the others.
    """
    images = np.asarray(images, "float32")
    indices = np.arange(len(images), dtype="int32")
    parts = (
        (images, indices)
        if labels is None
        else (images, np.asarray(labels, "int32"), indices)
    )
    if keras.backend.backend() != "tensorflow":
        return ArrayBatches(
            parts, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
        )
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(
        tf.data.AUTOTUNE
    )


class ArrayBatches(keras.utils.PyDataset):
    """Batches of aligned arrays for `fit` on any backend, shuffled each epoch.

    What `tf.data.Dataset.from_tensor_slices(arrays).shuffle(...).batch(...)`
    gives, for backends without TensorFlow.

    Args:
        arrays: a tuple of arrays with the same first dimension.
        batch_size: rows per batch.
        shuffle: reorder the rows every epoch.
        seed: seed of the shuffling.
        drop_remainder: drop the last partial batch.

    Example:

    >>> batches = ArrayBatches((np.arange(10), np.arange(10) * 2), 4, seed=0)
    >>> len(batches), [b.shape for b in batches[0]]
    (2, [(4,), (4,)])
    """

    def __init__(
        self, arrays, batch_size, shuffle=True, seed=None, drop_remainder=True
    ):
        super().__init__()
        self.arrays = tuple(np.asarray(a) for a in arrays)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        count = len(self.arrays[0])
        if self.drop_remainder:
            return count // self.batch_size
        return -(-count // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return tuple(a[rows] for a in self.arrays)

    def on_epoch_end(self):
        count = len(self.arrays[0])
        self.order = self.rng.permutation(count) if self.shuffle else np.arange(count)


def add_indices(dataset, batch_size=None):
    """Number the examples of a batched dataset of images or (images, labels).

    The dataset must yield its examples in the same order every epoch (load
    it with `shuffle=False`); shuffle the result afterwards if needed. The
    result yields `(images, indices)` or `(images, labels, indices)` in
    batches of `batch_size` (by default the input's static batch size).
    """
    import tensorflow as tf

    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    if batch_size is None:
        batch_size = first.shape[0]
        if batch_size is None:
            raise ValueError(
                "add_indices needs batch_size when the dataset's batch "
                f"dimension is not static. Received: element_spec={spec}"
            )
    examples = dataset.unbatch().enumerate()

    def _attach(index, example):
        index = tf.cast(index, tf.int32)
        if isinstance(example, tuple):
            return (*example, index)
        return example, index

    return examples.map(_attach).batch(batch_size)


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
