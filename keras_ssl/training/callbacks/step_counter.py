"""A callback base that knows the global training step across resumes."""

import keras


class StepCounter(keras.callbacks.Callback):
    """Counts global training steps, starting from `initial_step`.

    Keras passes callbacks the batch index within the epoch; a run that
    resumes from a checkpoint, or is split in several `fit` calls, needs the
    step since the very start of training. Subclasses call
    `super().on_train_batch_end(batch, logs)` first and read `self.step`.

    Args:
        initial_step: the global step at which this `fit` call starts.

    Example:

    >>> counter = StepCounter(initial_step=10)
    >>> counter.on_epoch_begin(0)
    >>> counter.on_train_batch_end(4)
    >>> counter.step
    15
    """

    def __init__(self, initial_step=0):
        super().__init__()
        if not isinstance(initial_step, int) or initial_step < 0:
            raise ValueError(
                "initial_step must be a non-negative integer. "
                f"Received: initial_step={initial_step!r}"
            )
        self.step = initial_step
        self._epoch_start_step = initial_step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_step = self.step

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution > 1 Keras reports the last batch index of
        # the execution, so counting from the epoch start stays exact.
        self.step = self._epoch_start_step + int(batch) + 1
