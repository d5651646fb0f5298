"""Sample grids from a generator on fixed noise, as PNG and TensorBoard images."""

import math
import os

import numpy as np
from PIL import Image

from keras_ssl.training.callbacks.step_counter import StepCounter
from keras_ssl.training.summaries import SummaryWriter


def image_grid(images, columns=None, padding=1, pad_value=0):
    """Tile uint8 images `(N, H, W, C)` into one `(rows*H, columns*W, C)` image.

    Example:

    >>> image_grid(np.zeros((4, 8, 8, 3), "uint8"), padding=0).shape
    (16, 16, 3)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "images must have shape (N, H, W, C) with C in (1, 3). "
            f"Received: images.shape={images.shape}"
        )
    if images.dtype != np.uint8:
        raise TypeError(
            f"images must be uint8 in [0, 255]. Received: dtype={images.dtype}"
        )
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (
            rows * height + (rows - 1) * padding,
            columns * width + (columns - 1) * padding,
            channels,
        ),
        pad_value,
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + padding), column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_image_grid(images, path, columns=None, padding=1):
    """Write `image_grid(images)` as a PNG at `path` (atomically); return path."""
    grid = image_grid(images, columns=columns, padding=padding)
    image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    image.save(temporary, format="PNG")
    os.replace(temporary, path)
    return path


class SampleGrid(StepCounter):
    """Write a grid of `model.generate(...)` samples on fixed noise.

    The same `seed` (and labels) is used every time, so successive grids
    show how the same latent points evolve during training. Each grid is
    saved as `<directory>/step_<step>.png` and, with `log_dir`, as a
    TensorBoard image summary.

    Args:
        directory: where PNG files go.
        every_n_steps: steps between grids (`None`: only at epoch ends when
            `every_n_epochs` is set).
        every_n_epochs: epochs between grids.
        num_samples: images per grid.
        seed: the fixed noise seed passed to `generate`.
        labels: class labels for conditional generators, `"auto"` (cycle
            through `model.num_classes` when the model has classes) or
            `None`.
        log_dir: a TensorBoard log directory for image summaries.
        initial_step: the global step at which this `fit` call starts.
        enabled: `False` on processes that must not write files.

    Example:

    >>> import tempfile
    >>> SampleGrid(tempfile.mkdtemp(), every_n_steps=500).num_samples
    64
    """

    def __init__(
        self,
        directory,
        every_n_steps=None,
        every_n_epochs=None,
        num_samples=64,
        seed=0,
        labels="auto",
        log_dir=None,
        initial_step=0,
        enabled=True,
    ):
        super().__init__(initial_step=initial_step)
        for name, value in (
            ("every_n_steps", every_n_steps),
            ("every_n_epochs", every_n_epochs),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f"{name} must be a positive integer or None. "
                    f"Received: {name}={value!r}"
                )
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(
                "num_samples must be a positive integer. "
                f"Received: num_samples={num_samples!r}"
            )
        self.directory = str(directory)
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.seed = seed
        self.labels = labels
        self.log_dir = log_dir
        self.enabled = enabled
        self.written = []
        self._writer = None

    def _resolve_labels(self):
        if not isinstance(self.labels, str):
            return self.labels
        if self.labels != "auto":
            raise ValueError(
                "labels must be 'auto', None or an array of class ids. "
                f"Received: labels={self.labels!r}"
            )
        num_classes = getattr(self.model, "num_classes", None)
        if num_classes:
            return np.arange(self.num_samples, dtype="int32") % int(num_classes)
        return None

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.every_n_steps and self.step % self.every_n_steps == 0:
            self.write()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self.write()

    def write(self, name=None):
        """Generate and save one grid now; returns the PNG path (or `None`)."""
        if not self.enabled or not hasattr(self.model, "generate"):
            return None
        images = self.model.generate(
            self.num_samples, labels=self._resolve_labels(), seed=self.seed
        )
        images = np.asarray(images)
        path = os.path.join(self.directory, name or f"step_{self.step:09d}.png")
        save_image_grid(images, path)
        self.written.append(path)
        if self.log_dir:
            self._write_summary(images)
        return path

    def _write_summary(self, images):
        if self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "samples"))
        self._writer.image("samples", image_grid(images), self.step)
        self._writer.flush()
