"""Callbacks for long, resumable training runs.

Imported on first use: the sample grids and scalar logs write through
TensorFlow, `NaNGuard` and `StepCounter` need only Keras.
"""

from keras_ssl.utils.imports import lazy_exports

_EXPORTS = {
    "EpochSummary": "epoch_summary",
    "MaxHours": "max_hours",
    "NaNGuard": "nan_guard",
    "NonFiniteLossError": "nan_guard",
    "SampleGrid": "sample_grid",
    "ScalarLogger": "scalar_logger",
    "StepCounter": "step_counter",
    "TrainingCheckpoint": "checkpoint",
    "image_grid": "sample_grid",
    "preview_sheet": "sample_grid",
    "save_image_grid": "sample_grid",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(
    __name__, {**_EXPORTS, **{name: name for name in set(_EXPORTS.values())}}
)
