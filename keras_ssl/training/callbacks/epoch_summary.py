"""One line per epoch: step, losses, speed."""

import time

import numpy as np

from keras_ssl.training.callbacks.step_counter import StepCounter


class EpochSummary(StepCounter):
    """Print a one-line summary at the end of each epoch.

    `epoch 3/10  step 300/1000  d_loss 1.2345  g_loss 0.8765  41.2 steps/s`

    Args:
        total_steps: the step count of the whole run, shown as `step/total`.
        epochs: the epoch count of the whole run.
        initial_step: the global step at which this `fit` call starts.
        print_fn: where lines go (defaults to `print`, flushed).

    Example:

    >>> lines = []
    >>> summary = EpochSummary(total_steps=2, epochs=1, print_fn=lines.append)
    >>> summary.on_epoch_begin(0)
    >>> summary.on_train_batch_end(1)
    >>> summary.on_epoch_end(0, {"loss": 0.5})
    >>> lines[0].split("  ")[:3]
    ['epoch 1/1', 'step 2/2', 'loss 0.5000']
    """

    def __init__(self, total_steps=None, epochs=None, initial_step=0, print_fn=None):
        super().__init__(initial_step=initial_step)
        self.total_steps = total_steps
        self.epochs = epochs
        self.print_fn = print_fn or (lambda line: print(line, flush=True))
        self.lines = []
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._started = (time.perf_counter(), self.step)

    def on_epoch_end(self, epoch, logs=None):
        parts = [f"epoch {epoch + 1}" + (f"/{self.epochs}" if self.epochs else "")]
        parts.append(
            f"step {self.step}" + (f"/{self.total_steps}" if self.total_steps else "")
        )
        for name, value in (logs or {}).items():
            try:
                parts.append(f"{name} {float(np.asarray(value, 'float64')):.4f}")
            except (TypeError, ValueError):
                continue
        if self._started is not None:
            seconds = time.perf_counter() - self._started[0]
            if seconds > 0:
                rate = (self.step - self._started[1]) / seconds
                parts.append(f"{rate:.1f} steps/s")
        line = "  ".join(parts)
        self.lines.append(line)
        self.print_fn(line)
