"""Training at scale: strategies, resumable checkpoints, callbacks, recipes.

- `strategy(kind)`: `MirroredStrategy`, `MultiWorkerMirroredStrategy` or the
  default strategy; `replica_batch_size`, `synchronize_batch_norm`;
  `replica_share` / `replica_slice` (this replica's rows of a global draw).
- Callbacks: `NaNGuard`, `TrainingCheckpoint`, `MaxHours`, `SampleGrid`,
  `ScalarLogger`, `EpochSummary`.
- `save_checkpoint` / `load_checkpoint`: atomic checkpoints of a model and
  all its optimizers.
- `ema`: the exponential moving average of a generator (`update_average`,
  with compare_gan's start step) and `refresh_statistics`, which recomputes
  a generator's batch-norm statistics from its own weights.
- `run(config)` / `train(method, data, ...)`: the recipe runner behind
  `keras-ssl train`.
"""

from keras_ssl.utils.imports import lazy_exports

# Imported on first use: the runner and the summaries import TensorFlow, the
# replica helpers and callbacks that train steps use do not.
_EXPORTS = {
    "DEFAULTS": "config",
    "EpochSummary": "callbacks",
    "MaxHours": "callbacks",
    "NaNGuard": "callbacks",
    "NonFiniteLossError": "callbacks",
    "SampleGrid": "callbacks",
    "ScalarLogger": "callbacks",
    "StepCounter": "callbacks",
    "TrainingCheckpoint": "callbacks",
    "apply_overrides": "config",
    "checkpoint_variables": "checkpoint",
    "ema": "ema",
    "find_optimizers": "checkpoint",
    "gather_replicas": "distribute",
    "image_grid": "callbacks",
    "is_chief": "distribute",
    "latest_checkpoint": "checkpoint",
    "list_checkpoints": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_config": "config",
    "num_replicas": "distribute",
    "plan_segments": "runner",
    "precision_policy": "precision",
    "preview_sheet": "callbacks",
    "read_checkpoint_header": "checkpoint",
    "refresh_statistics": "ema",
    "replica_batch_size": "distribute",
    "replica_id": "distribute",
    "replica_share": "distribute",
    "replica_slice": "distribute",
    "resolve_config": "config",
    "run": "runner",
    "save_checkpoint": "checkpoint",
    "save_image_grid": "callbacks",
    "strategy": "distribute",
    "synchronize_batch_norm": "distribute",
    "train": "runner",
    "update_average": "ema",
    "wrap_for_loss_scaling": "precision",
}

__all__ = sorted(_EXPORTS)

_SUBMODULES = (
    "callbacks",
    "checkpoint",
    "config",
    "coupled_weight_decay",
    "distribute",
    "precision",
    "runner",
    "summaries",
)

__getattr__, __dir__ = lazy_exports(
    __name__, {**_EXPORTS, **{name: name for name in _SUBMODULES}}
)
