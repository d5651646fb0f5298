"""Multi-task self-supervision: one encoder, several pretext heads.

Reference: Doersch & Zisserman, "Multi-task Self-Supervised Visual
Learning", ICCV 2017.

Every task is one of this package's pretext methods built around the SAME
encoder object, so its head and loss are that method's own code:

    L = sum_t w_t L_t(encoder, head_t)

Tasks by name: "rotation" (`RotNet`), "exemplar" (`Exemplar`), "jigsaw"
(`Jigsaw`), "deeppermnet" (`DeepPermNet`), "context_prediction"
(`ContextPrediction`) and "colorization" (`Colorization`, Zhang et al.'s
rebalanced ab-bin classification from the greyscale image, one of the
paper's four tasks) where those methods are available. Every task is a
`PretextTask` and contributes `(loss, accuracy)` for a batch of images
through its `pretext_step(images, training)`; `MultiTask` is a `PretextTask`
too, whose `pretext_logs` holds the weighted sum, the mean accuracy and each
task's loss and accuracy. Tile-based tasks feed tiles to the same encoder as
whole images, so the encoder must then accept any spatial size (build it
with `input_shape=(None, None, C)`) and `image_size` must be given.

Defaults vs the paper: the paper trains a ResNet-101 trunk on ImageNet with
four tasks asynchronously on many GPUs, "harmonises" inputs (grey images for
every task; here only the colorization task sees grey images, through the
same encoder) and learns a sparse (lasso) combination of trunk layers per task.
Here every task sees every batch, synchronously, with fixed loss weights
(all 1 by default), and the heads read the encoder's pooled output
(colorization's 1x1 conv reads its feature map).
"""

import importlib
import inspect

import keras
from keras import ops

from keras_ssl.architectures.encoders import build_encoder
from keras_ssl.methods.pretext_task import PretextTask
from keras_ssl.methods.registry import register_method

# name -> (module, class) of the method that implements the task.
TASKS = {
    "rotation": ("keras_ssl.methods.rotnet", "RotNet"),
    "exemplar": ("keras_ssl.methods.exemplar", "Exemplar"),
    "jigsaw": ("keras_ssl.methods.jigsaw", "Jigsaw"),
    "context_prediction": ("keras_ssl.methods.context_prediction", "ContextPrediction"),
    "deeppermnet": ("keras_ssl.methods.deeppermnet", "DeepPermNet"),
    "colorization": ("keras_ssl.methods.colorization", "Colorization"),
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


@keras.saving.register_keras_serializable(package="keras_ssl")
class MultiTask(PretextTask):
    """Several pretext tasks sharing one encoder (Doersch & Zisserman 2017).

    Reference: Doersch & Zisserman, ICCV 2017. Batches are images in
    [-1, 1], or `(images, labels)` whose labels are ignored. Logs
    `pretext_loss` (the weighted sum), `pretext_accuracy` (the mean of the
    tasks' accuracies), and `<task>_loss`, `<task>_accuracy` per task; those
    names are this instance's `metric_names`. Training mechanics (`compile`,
    `train_step`, serialization) come from `PretextTask`.

    Args:
        encoder: a `keras.Model` from images to a feature map or a vector,
            shared by all tasks (`.encoder`).
        tasks: a list of task names, or a dict from task name to the keyword
            arguments of that task's method (e.g.
            `{"rotation": {}, "exemplar": {"num_views": 4}}`).
        weights: optional dict from task name to loss weight (default 1).
        image_size: side of the training images; by default the encoder's
            input size. Passed to tasks that take an `image_size`.
        **kwargs: `keras.Model` arguments (name, ...).

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
        # The logged metrics depend on the tasks, so this instance's
        # `metric_names` is set before the base class builds their trackers.
        self.metric_names = PretextTask.metric_names + tuple(
            f"{name}_{metric}"
            for name in task_configs
            for metric in ("loss", "accuracy")
        )
        super().__init__(encoder, **kwargs)
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

    def call(self, images, training=False):
        """Pooled encoder features of `images` (B, D)."""
        if isinstance(images, (tuple, list)):
            images = images[0]
        return self.features(images, training=training)

    def pretext_losses(self, images, training=False):
        """Per-task `(loss, accuracy)` dict and the weighted total loss."""
        results = {
            name: task.pretext_step(images, training=training)
            for name, task in self.tasks.items()
        }
        total = ops.sum(
            ops.stack([self.task_weights[name] * results[name][0] for name in results])
        )
        return results, total

    def pretext_logs(self, images, training=False):
        """The weighted loss, the mean accuracy and every task's own."""
        results, total = self.pretext_losses(images, training=training)
        logs = {
            "pretext_loss": total,
            "pretext_accuracy": ops.mean(
                ops.stack([accuracy for _, accuracy in results.values()])
            ),
        }
        for name, (loss, accuracy) in results.items():
            logs[f"{name}_loss"] = loss
            logs[f"{name}_accuracy"] = accuracy
        return logs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tasks": {name: dict(c) for name, c in self.task_configs.items()},
                "weights": dict(self.task_weights),
                "image_size": self.image_size,
            }
        )
        return config


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
    model.compile()
    return model
