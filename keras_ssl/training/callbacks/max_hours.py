"""Stop training cleanly after a wall-clock budget, leaving a checkpoint."""

import time

from keras_ssl.training.callbacks.step_counter import StepCounter
from keras_ssl.utils.validation import check_number


class MaxHours(StepCounter):
    """Stop `fit` once `hours` of wall-clock time have passed.

    Training stops after the current step (`model.stop_training`), and the
    `TrainingCheckpoint` passed as `checkpoint` writes a final checkpoint,
    so running the same command again resumes where this one stopped
    (useful on pre-emptible machines and job schedulers with time limits).

    Args:
        hours: the budget, a positive number (fractions allowed).
        checkpoint: an optional `TrainingCheckpoint` to save when stopping.
        initial_step: the global step at which this `fit` call starts.
        start_time: `time.time()` at which the budget started; defaults to
            the first `on_train_begin`.

    Example:

    >>> MaxHours(0.5).hours
    0.5
    """

    def __init__(self, hours, checkpoint=None, initial_step=0, start_time=None):
        super().__init__(initial_step=initial_step)
        self.hours = check_number(hours, "hours", minimum=0, exclusive_minimum=True)
        self.checkpoint = checkpoint
        self.start_time = start_time
        self.stopped = False

    def on_train_begin(self, logs=None):
        if self.start_time is None:
            self.start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if time.time() - self.start_time >= self.hours * 3600.0:
            self.stopped = True
            self.model.stop_training = True
            if self.checkpoint is not None:
                self.checkpoint.save()
