"""Sample sheets during training, as PNG and TensorBoard images.

Generators get a grid of `model.generate(...)` on fixed noise; image-to-image
and reconstruction methods get a sheet of `model.preview(images)` columns
on a fixed batch of training images (see `SampleGrid`).
"""

import math
import os

import numpy as np
from PIL import Image

from keras_ssl.training.callbacks.step_counter import StepCounter
from keras_ssl.training.summaries import SummaryWriter
from keras_ssl.utils.validation import check_int


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


def preview_sheet(columns, rows=None):
    """Tile preview columns side by side: row i is `columns[0][i] | columns[1][i] ...`.

    `columns` is a list of uint8 arrays `(N, H, W, C)`; greyscale columns
    are repeated to RGB when others are RGB, and smaller images are padded
    (top-left aligned) to the largest. Returns `(rows * len(columns), H, W,
    C)` images in row-major order, for `image_grid(..., columns=len(columns))`.

    Example:

    >>> a, b = np.zeros((3, 4, 4, 1), "uint8"), np.ones((3, 4, 4, 3), "uint8")
    >>> preview_sheet([a, b]).shape
    (6, 4, 4, 3)
    """
    if not isinstance(columns, list | tuple) or not columns:
        raise TypeError(
            "preview(images) must return a non-empty list of uint8 image arrays "
            f"(columns). Received: {type(columns).__name__}"
        )
    columns = [np.asarray(c) for c in columns]
    for index, column in enumerate(columns):
        if column.ndim != 4 or column.dtype != np.uint8:
            raise ValueError(
                "preview(images) must return uint8 arrays of shape (N, H, W, C). "
                f"Received: column {index} of shape {column.shape}, dtype "
                f"{column.dtype}"
            )
    count = min(len(c) for c in columns)
    if rows is not None:
        count = min(count, rows)
    channels = max(c.shape[-1] for c in columns)
    height = max(c.shape[1] for c in columns)
    width = max(c.shape[2] for c in columns)
    sheet = np.zeros((count, len(columns), height, width, channels), "uint8")
    for index, column in enumerate(columns):
        column = column[:count]
        if column.shape[-1] != channels:
            column = np.repeat(column[..., :1], channels, axis=-1)
        sheet[:, index, : column.shape[1], : column.shape[2]] = column
    return sheet.reshape((-1, height, width, channels))


def _preview_images(batch):
    """The image arrays of a training batch: labels and weights dropped.

    An array stays an array; a tuple keeps its rank-4 members (one left: that
    array; several: a tuple, e.g. `(inputs, targets)` of paired data).
    """
    if not isinstance(batch, tuple | list):
        return np.asarray(batch)
    images = [np.asarray(x) for x in batch if np.ndim(x) == 4]
    if not images:
        raise ValueError(
            "preview_batch must hold images of shape (N, H, W, C). Received: "
            f"elements of shapes {[np.shape(x) for x in batch]}"
        )
    return images[0] if len(images) == 1 else tuple(images)


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
    """Write sample sheets of a model during training.

    Two protocols, either or both:
    - `model.generate(n, labels=None, seed=None) -> uint8 (n, H, W, C)`
      (generators): a grid of `num_samples` images on fixed noise, saved
      as `<directory>/step_<step>.png`. The same `seed` (and labels) is used
      every time, so successive grids show how the same latent points
      evolve.
    - `model.preview(images) -> list of uint8 (N, H, W, C) arrays`
      (image-to-image and reconstruction methods): one array per column,
      e.g. input | output | target, row i of each column from example i.
      It gets the images of `preview_batch`, a fixed training batch (the
      runner passes its first batch): an array `(N, H, W, C)`, or a tuple
      of image arrays for paired data (`(inputs, targets)`); labels are
      dropped. At most `num_preview` rows are drawn, saved as
      `<directory>/step_<step>_preview.png`.

    With `log_dir`, each sheet is also a TensorBoard image summary
    ("samples" / "preview").

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
        preview_batch: the fixed training batch for `model.preview`.
        num_preview: rows of a preview sheet.

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
        preview_batch=None,
        num_preview=8,
    ):
        super().__init__(initial_step=initial_step)
        check_int(every_n_steps, "every_n_steps", allow_none=True)
        check_int(every_n_epochs, "every_n_epochs", allow_none=True)
        check_int(num_samples, "num_samples")
        self.num_preview = check_int(num_preview, "num_preview")
        self.preview_batch = (
            None if preview_batch is None else _preview_images(preview_batch)
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
        """Write the sheets now; returns the first PNG path (or `None`).

        `name` (e.g. "final.png") names the samples grid; the preview sheet
        gets the same name with a "_preview" suffix.
        """
        if not self.enabled:
            return None
        name = name or f"step_{self.step:09d}.png"
        paths = []
        if hasattr(self.model, "generate"):
            images = self.model.generate(
                self.num_samples, labels=self._resolve_labels(), seed=self.seed
            )
            paths.append(self._save(np.asarray(images), name, "samples"))
        if hasattr(self.model, "preview") and self.preview_batch is not None:
            columns = self.model.preview(self._preview_rows())
            sheet = preview_sheet(columns, rows=self.num_preview)
            stem, extension = os.path.splitext(name)
            paths.append(
                self._save(sheet, f"{stem}_preview{extension}", "preview", len(columns))
            )
        return paths[0] if paths else None

    def _preview_rows(self):
        batch = self.preview_batch
        if isinstance(batch, tuple):
            return tuple(x[: self.num_preview] for x in batch)
        return batch[: self.num_preview]

    def _save(self, images, name, tag, columns=None):
        path = os.path.join(self.directory, name)
        save_image_grid(images, path, columns=columns)
        self.written.append(path)
        if self.log_dir:
            if self._writer is None:
                self._writer = SummaryWriter(os.path.join(self.log_dir, "samples"))
            self._writer.image(tag, image_grid(images, columns=columns), self.step)
            self._writer.flush()
        return path
