"""Stop training at the first NaN or Inf loss, with an error that says where.

The one NaN guard of the package: the GAN methods add it to every `fit`
themselves, and the recipe runner adds it (knowing the global step and the
checkpoint folder) before its checkpoint callback.
"""

import numpy as np

from keras_ssl.training.callbacks.step_counter import StepCounter


class NonFiniteLossError(FloatingPointError):
    """Raised when a logged loss or metric becomes NaN or Inf."""

    def __init__(
        self, name, value, step, checkpoint_dir=None, model_name=None, where=None
    ):
        self.name = name
        self.value = value
        self.step = step
        self.checkpoint_dir = checkpoint_dir
        prefix = f"{model_name}: l" if model_name else "L"
        where = f" ({where})" if where else ""
        message = (
            f"{prefix}oss {name!r} became {value} at step {step}{where}; "
            "training stopped."
        )
        if checkpoint_dir:
            message += (
                f" The last good checkpoint in {checkpoint_dir} is unchanged; "
                "lower the learning rate or fix the data, then run again to "
                "resume from it."
            )
        else:
            message += " Lower the learning rate or check the data."
        super().__init__(message)


class NaNGuard(StepCounter):
    """Raise `NonFiniteLossError` as soon as a logged value is NaN or Inf.

    Keras' `TerminateOnNaN` stops quietly and the run looks finished; a GAN
    that diverges should fail loudly instead. Place `NaNGuard` before the
    checkpoint callback in the callback list: the error is raised before
    the diverged state can be checkpointed (the checkpoint writer also
    refuses non-finite variables), so the last good checkpoint stays intact.
    The logged values are running means over the epoch, so the first
    non-finite one is the step where a loss became non-finite.

    Args:
        monitor: names of the logs to check; `None` checks every numeric log.
        initial_step: the global step at which this `fit` call starts.
        checkpoint_dir: where checkpoints are written, named in the error.

    Example:

    >>> guard = NaNGuard()
    >>> guard.on_epoch_begin(0)
    >>> guard.on_train_batch_end(0, {"d_loss": 0.7})
    >>> guard.step
    1
    """

    def __init__(self, monitor=None, initial_step=0, checkpoint_dir=None):
        super().__init__(initial_step=initial_step)
        if isinstance(monitor, str):
            monitor = [monitor]
        self.monitor = None if monitor is None else list(monitor)
        self.checkpoint_dir = checkpoint_dir
        self._epoch = 0
        self._batch = None

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        self._batch = batch
        self._check(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs)

    def _check(self, logs):
        for name, value in (logs or {}).items():
            if self.monitor is not None and name not in self.monitor:
                continue
            try:
                array = np.asarray(value, dtype="float64")
            except (TypeError, ValueError):
                continue
            if not np.all(np.isfinite(array)):
                bad = array[~np.isfinite(array)].flat[0]
                model = getattr(self, "_model", None)
                where = f"epoch {self._epoch + 1}"
                if self._batch is not None:
                    where += f", batch {self._batch + 1}"
                raise NonFiniteLossError(
                    name,
                    float(bad),
                    self.step,
                    self.checkpoint_dir,
                    model_name=None if model is None else type(model).__name__,
                    where=where,
                )
