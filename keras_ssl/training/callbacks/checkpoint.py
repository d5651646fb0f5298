"""Atomic checkpoints every N steps, restored when a run resumes."""

import time

from keras_ssl.training.callbacks.step_counter import StepCounter
from keras_ssl.training.checkpoint import load_checkpoint, save_checkpoint


class TrainingCheckpoint(StepCounter):
    """Checkpoint the model and all its optimizers every `every_n_steps`.

    Each checkpoint is one file written atomically (see
    `keras_ssl.training.checkpoint`), so a run killed at any moment keeps a
    loadable checkpoint. The state is restored from `restore_from` when
    training begins, after Keras has built the model and its optimizers.

    Args:
        directory: where `ckpt-<step>.npz` files are written.
        every_n_steps: steps between checkpoints; `None` checkpoints only at
            the end of training.
        keep: how many newest checkpoints to keep.
        initial_step: the global step at which this `fit` call starts.
        restore_from: a checkpoint path restored at the start of training.
        metadata: a dict stored in every checkpoint (e.g. the run config).
        save_on_train_end: also checkpoint when `fit` returns, which is how
            `MaxHours` and the end of a run leave a final checkpoint.
        enabled: `False` on processes that must not write (non-chief
            workers writing to the same directory).

    Example:

    >>> import tempfile
    >>> callback = TrainingCheckpoint(tempfile.mkdtemp(), every_n_steps=100)
    >>> callback.every_n_steps
    100
    """

    def __init__(
        self,
        directory,
        every_n_steps=None,
        keep=2,
        initial_step=0,
        restore_from=None,
        metadata=None,
        save_on_train_end=True,
        enabled=True,
    ):
        super().__init__(initial_step=initial_step)
        if every_n_steps is not None and (
            not isinstance(every_n_steps, int) or every_n_steps < 1
        ):
            raise ValueError(
                "every_n_steps must be a positive integer or None. "
                f"Received: every_n_steps={every_n_steps!r}"
            )
        self.directory = str(directory)
        self.every_n_steps = every_n_steps
        self.keep = keep
        self.restore_from = restore_from
        self.metadata = dict(metadata or {})
        self.save_on_train_end = save_on_train_end
        self.enabled = enabled
        self.last_saved_step = initial_step if restore_from else None
        self.last_saved_path = restore_from
        self.seconds_saving = 0.0
        self._restored = restore_from is None

    def on_train_begin(self, logs=None):
        if not self._restored:
            load_checkpoint(self.model, self.restore_from)
            self._restored = True

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.every_n_steps and self.step % self.every_n_steps == 0:
            self.save()

    def on_train_end(self, logs=None):
        if self.save_on_train_end:
            self.save()

    def save(self):
        """Checkpoint now (once per step); returns the path or `None`."""
        if not self.enabled or self.last_saved_step == self.step:
            return None
        start = time.perf_counter()
        self.last_saved_path = save_checkpoint(
            self.model,
            self.directory,
            self.step,
            metadata={**self.metadata, "saved_at": time.time()},
            keep=self.keep,
        )
        self.seconds_saving += time.perf_counter() - start
        self.last_saved_step = self.step
        return self.last_saved_path
