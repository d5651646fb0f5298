"""Callbacks for long, resumable training runs."""

from keras_ssl.training.callbacks.checkpoint import TrainingCheckpoint
from keras_ssl.training.callbacks.epoch_summary import EpochSummary
from keras_ssl.training.callbacks.max_hours import MaxHours
from keras_ssl.training.callbacks.nan_guard import NaNGuard, NonFiniteLossError
from keras_ssl.training.callbacks.sample_grid import (
    SampleGrid,
    image_grid,
    preview_sheet,
    save_image_grid,
)
from keras_ssl.training.callbacks.scalar_logger import ScalarLogger
from keras_ssl.training.callbacks.step_counter import StepCounter

__all__ = [
    "EpochSummary",
    "MaxHours",
    "NaNGuard",
    "NonFiniteLossError",
    "SampleGrid",
    "ScalarLogger",
    "StepCounter",
    "TrainingCheckpoint",
    "image_grid",
    "preview_sheet",
    "save_image_grid",
]
