"""Multi-task self-supervision: one encoder, several pretext heads.

Reference: Doersch & Zisserman, "Multi-task Self-Supervised Visual
Learning", ICCV 2017.

Every task is one of this package's pretext methods built around the SAME
encoder object, so its head and loss are that method's own code:

    L = sum_t w_t L_t(encoder, head_t)

Tasks by name: "rotation" (`RotNet`), "exemplar" (`Exemplar`), "jigsaw"
(`Jigsaw`), "deeppermnet" (`DeepPermNet`) and "context_prediction"
(`ContextPrediction`) where those methods are available. A task contributes
`(loss, accuracy)` for a batch of images through its `pretext_step(images,
training)` method, or is composed from its public pieces (RotNet:
`rotation_logits`; Jigsaw: `puzzles` and `puzzle_logits`; DeepPermNet:
`puzzles` and `soft_permutations`; ContextPrediction: `pairs` and
`position_logits`; each with its own `pretext_loss` and
`pretext_accuracy`). Tile-based tasks feed tiles to the same encoder as
whole images, so the encoder must then accept any spatial size (build it
with `input_shape=(None, None, C)`) and `image_size` must be given.

Defaults vs the paper: the paper trains a ResNet-101 trunk on ImageNet with
four tasks asynchronously on many GPUs, "harmonises" inputs (grey images for
every task) and learns a sparse (lasso) combination of trunk layers per task.
Here every task sees every batch, synchronously, with fixed loss weights
(all 1 by default), and all heads read the encoder's pooled output.
"""

import importlib
import inspect

import keras
import tensorflow as tf
from keras import ops

from keras_ssl.architectures.encoders import build_encoder, vector_pooling
from keras_ssl.methods.registry import register_method
from keras_ssl.ops.rotation import rotation_batch

# name -> (module, class) of the method that implements the task.
TASKS = {
    "rotation": ("keras_ssl.methods.rotnet", "RotNet"),
    "exemplar": ("keras_ssl.methods.exemplar", "Exemplar"),
    "jigsaw": ("keras_ssl.methods.jigsaw", "Jigsaw"),
    "context_prediction": ("keras_ssl.methods.context_prediction", "ContextPrediction"),
    "deeppermnet": ("keras_ssl.methods.deeppermnet", "DeepPermNet"),
}

# Tasks that feed tiles or patches, smaller than the image, to the encoder.
TILE_TASKS = ("jigsaw", "deeppermnet", "context_prediction")


def _task_class(name):
    if name not in TASKS:
        raise ValueError(
            f"Unknown task {name!r}. tasks must be among {tuple(TASKS)}. "
            f"Received: {name!r}"
        )
    module_name, class_name = TASKS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ValueError(
            f"Task {name!r} needs {module_name}.{class_name}, which is not "
            "available in this installation."
        ) from error
    return getattr(module, class_name)


def _rotation_step(task, images, training):
    rotated, labels = rotation_batch(images)
    logits = task.rotation_logits(rotated, training=training)
    return task.pretext_loss(logits, labels), task.pretext_accuracy(logits, labels)


def _jigsaw_step(task, images, training):
    tiles, labels = task.puzzles(images, training=training)
    logits = task.puzzle_logits(tiles, training=training)
    return task.pretext_loss(logits, labels), task.pretext_accuracy(logits, labels)


def _permutation_step(task, images, training):
    permutations = task.random_permutations(ops.shape(images)[0])
    tiles, permutations = task.puzzles(images, permutations, training=training)
    soft = task.soft_permutations(tiles, training=training)
    tile_accuracy, _ = task.pretext_accuracy(soft, permutations)
    return task.pretext_loss(soft, permutations), tile_accuracy


def _context_step(task, images, training):
    centre, neighbour, positions = task.pairs(images, training=training)
    logits = task.position_logits(centre, neighbour, training=training)
    return task.pretext_loss(logits, positions), task.pretext_accuracy(
        logits, positions
    )


def _task_step(task, images, training):
    if hasattr(task, "pretext_step"):
        return task.pretext_step(images, training=training)
    if hasattr(task, "rotation_logits"):
        return _rotation_step(task, images, training)
    if hasattr(task, "puzzle_logits"):
        return _jigsaw_step(task, images, training)
    if hasattr(task, "soft_permutations"):
        return _permutation_step(task, images, training)
    if hasattr(task, "position_logits"):
        return _context_step(task, images, training)
    raise TypeError(
        f"{type(task).__name__} cannot be a MultiTask task: it needs a "
        "pretext_step(images, training) method returning (loss, accuracy)."
    )


@keras.saving.register_keras_serializable(package="keras_ssl")
class MultiTask(keras.Model):
    """Several pretext tasks sharing one encoder (Doersch & Zisserman 2017).

    Reference: Doersch & Zisserman, ICCV 2017. Batches are images in
    [-1, 1], or `(images, labels)` whose labels are ignored. Logs
    `pretext_loss` (the weighted sum), `pretext_accuracy` (the mean of the
    tasks' accuracies), and `<task>_loss`, `<task>_accuracy` per task.

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector,
            shared by all tasks (`.encoder`).
        tasks: a list of task names, or a dict from task name to the keyword
            arguments of that task's method (e.g.
            `{"rotation": {}, "exemplar": {"num_views": 4}}`).
        weights: optional dict from task name to loss weight (default 1).
        image_size: side of the training images; by default the encoder's
            input size. Passed to tasks that take an `image_size`.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.architectures import nin_encoder
    >>> model = MultiTask(
    ...     nin_encoder((16, 16, 3), num_blocks=3, width=8),
    ...     tasks={"rotation": {}, "exemplar": {"num_views": 2}},
    ...     weights={"exemplar": 0.5},
    ... )
    >>> sorted(model.tasks)
    ['exemplar', 'rotation']
    >>> model.compile(optimizer="adam")
    >>> images = np.random.uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    >>> history = model.fit(images, batch_size=4, epochs=1, verbose=0)
    >>> "rotation_accuracy" in history.history
    True
    """

    def __init__(
        self, encoder, tasks=("rotation",), weights=None, image_size=None, **kwargs
    ):
        super().__init__(**kwargs)
        if isinstance(tasks, str):
            tasks = [tasks]
        if isinstance(tasks, dict):
            task_configs = {name: dict(config or {}) for name, config in tasks.items()}
        elif isinstance(tasks, (list, tuple)):
            task_configs = {name: {} for name in tasks}
        else:
            raise TypeError(
                "tasks must be a list of task names or a dict of name -> config. "
                f"Received: tasks={tasks!r}"
            )
        if not task_configs:
            raise ValueError("tasks must name at least one task. Received: tasks={}")
        weights = dict(weights or {})
        unknown = set(weights) - set(task_configs)
        if unknown:
            raise ValueError(
                f"weights names tasks that are not in tasks {tuple(task_configs)}. "
                f"Received: weights={weights!r}"
            )
        for name, value in weights.items():
            if float(value) < 0:
                raise ValueError(
                    f"weights must be >= 0. Received: weights[{name!r}]={value!r}"
                )
        encoder_size = tuple(encoder.inputs[0].shape[1:3])
        if image_size is None:
            if None in encoder_size:
                raise ValueError(
                    "MultiTask needs image_size when the encoder's input size "
                    f"is not fixed. Received: encoder input size={encoder_size}, "
                    "image_size=None"
                )
            image_size = encoder_size[0]
        self.image_size = int(image_size)
        channels = encoder.inputs[0].shape[-1]
        self.image_shape = (self.image_size, self.image_size, channels)
        self.encoder = encoder
        self.pooling, self.feature_dim = vector_pooling(encoder)
        self.task_configs = task_configs
        self.task_weights = {
            name: float(weights.get(name, 1.0)) for name in task_configs
        }
        self.tasks = {}
        for name, config in task_configs.items():
            task_class = _task_class(name)
            config = dict(config)
            if "image_size" in inspect.signature(task_class).parameters:
                config.setdefault("image_size", self.image_size)
            self.tasks[name] = task_class(encoder, name=name, **config)
        self.trackers = {"pretext_loss": keras.metrics.Mean(name="pretext_loss")}
        self.trackers["pretext_accuracy"] = keras.metrics.Mean(name="pretext_accuracy")
        for name in task_configs:
            for metric in ("loss", "accuracy"):
                key = f"{name}_{metric}"
                self.trackers[key] = keras.metrics.Mean(name=key)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        # Heads are built by running every task once, outside the train
        # step, so that all variables exist before the optimizer is built.
        dummy = ops.zeros((2,) + self.image_shape)
        for task in self.tasks.values():
            _task_step(task, dummy, training=False)
        self.built = True

    def call(self, images, training=False):
        """Pooled encoder features of `images` (B, D)."""
        if isinstance(images, (tuple, list)):
            images = images[0]
        return self.pooling(self.encoder(images, training=training))

    def features(self, images, training=False):
        """Pooled encoder features (B, D), the representation to evaluate."""
        return self.call(images, training=training)

    def pretext_losses(self, images, training=False):
        """Per-task `(loss, accuracy)` dict and the weighted total loss."""
        results = {
            name: _task_step(task, images, training)
            for name, task in self.tasks.items()
        }
        total = ops.sum(
            ops.stack([self.task_weights[name] * results[name][0] for name in results])
        )
        return results, total

    def _images(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return ops.reshape(images, (-1,) + self.image_shape)

    def _record(self, results, total):
        self.trackers["pretext_loss"].update_state(total)
        self.trackers["pretext_accuracy"].update_state(
            ops.mean(ops.stack([accuracy for _, accuracy in results.values()]))
        )
        for name, (loss, accuracy) in results.items():
            self.trackers[f"{name}_loss"].update_state(loss)
            self.trackers[f"{name}_accuracy"].update_state(accuracy)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        images = self._images(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            results, total = self.pretext_losses(images, training=True)
            scaled = total / replicas
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._record(results, total)

    def test_step(self, data):
        results, total = self.pretext_losses(self._images(data), training=False)
        return self._record(results, total)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "tasks": {name: dict(c) for name, c in self.task_configs.items()},
                "weights": dict(self.task_weights),
                "image_size": self.image_size,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@register_method("multitask")
def build_multitask(
    image_size=32,
    channels=3,
    tasks=None,
    weights=None,
    encoder="nin",
    encoder_config=None,
):
    """MultiTask with the NIN encoder (or `encoder`), Adam 1e-3.

    Args:
        image_size: side of the square input images.
        channels: image channels.
        tasks: see `MultiTask`; default `{"rotation": {}, "exemplar": {}}`.
        weights: see `MultiTask`.
        encoder: an encoder name (`"nin"`, `"alexnet"`, `"resnet18"`, ...) or
            a `keras.Model`; see `keras_ssl.architectures.build_encoder`.
        encoder_config: keyword arguments of the named encoder's builder. A
            named encoder is built for any image size when a tile-based task
            (jigsaw, deeppermnet, context_prediction) is among the tasks.
    """
    if tasks is None:
        tasks = {"rotation": {}, "exemplar": {}}
    size = image_size
    if isinstance(encoder, str) and set(tasks) & set(TILE_TASKS):
        # Tiles and whole images go through the same encoder.
        size = None
    encoder = build_encoder(encoder, (size, size, channels), encoder_config)
    model = MultiTask(encoder, tasks=tasks, weights=weights, image_size=image_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model
