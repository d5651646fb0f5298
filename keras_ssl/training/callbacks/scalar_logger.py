"""TensorBoard scalars of every logged loss and metric, at the global step."""

import os
import time

import numpy as np

from keras_ssl.training.callbacks.step_counter import StepCounter
from keras_ssl.training.summaries import SummaryWriter


class ScalarLogger(StepCounter):
    """Write every numeric log to TensorBoard every `every_n_steps` steps.

    Unlike `keras.callbacks.TensorBoard`, the step axis is the global step of
    the run, so curves continue seamlessly when a run resumes, and methods
    with several optimizers (no single `model.optimizer.iterations`) are
    handled. Also logs training speed as `steps_per_second`.

    Args:
        log_dir: the TensorBoard log directory (scalars go to `train/`).
        every_n_steps: steps between summaries.
        initial_step: the global step at which this `fit` call starts.
        enabled: `False` on processes that must not write files.

    Example:

    >>> import tempfile
    >>> ScalarLogger(tempfile.mkdtemp(), every_n_steps=10).every_n_steps
    10
    """

    def __init__(self, log_dir, every_n_steps=50, initial_step=0, enabled=True):
        super().__init__(initial_step=initial_step)
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ValueError(
                "every_n_steps must be a positive integer. "
                f"Received: every_n_steps={every_n_steps!r}"
            )
        self.log_dir = str(log_dir)
        self.every_n_steps = every_n_steps
        self.enabled = enabled
        self._writer = None
        self._last = None

    def on_train_begin(self, logs=None):
        self._last = (time.perf_counter(), self.step)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if not self.enabled or self.step % self.every_n_steps:
            return
        if self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "train"))
        now = time.perf_counter()
        values = {}
        for name, value in (logs or {}).items():
            try:
                values[name] = float(np.asarray(value, dtype="float64"))
            except (TypeError, ValueError):
                continue
        if self._last is not None and now > self._last[0]:
            values["steps_per_second"] = (self.step - self._last[1]) / (
                now - self._last[0]
            )
        self._writer.scalars(values, self.step)
        self._last = (now, self.step)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
