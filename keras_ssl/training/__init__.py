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

from keras_ssl.training import ema
from keras_ssl.training.callbacks import (
    EpochSummary,
    MaxHours,
    NaNGuard,
    NonFiniteLossError,
    SampleGrid,
    ScalarLogger,
    StepCounter,
    TrainingCheckpoint,
    image_grid,
    preview_sheet,
    save_image_grid,
)
from keras_ssl.training.checkpoint import (
    checkpoint_variables,
    find_optimizers,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_header,
    save_checkpoint,
)
from keras_ssl.training.config import (
    DEFAULTS,
    apply_overrides,
    load_config,
    resolve_config,
)
from keras_ssl.training.distribute import (
    is_chief,
    num_replicas,
    replica_batch_size,
    replica_id,
    replica_share,
    replica_slice,
    strategy,
    synchronize_batch_norm,
)
from keras_ssl.training.ema import refresh_statistics, update_average
from keras_ssl.training.precision import precision_policy, wrap_for_loss_scaling
from keras_ssl.training.runner import plan_segments, run, train

__all__ = [
    "DEFAULTS",
    "EpochSummary",
    "MaxHours",
    "NaNGuard",
    "NonFiniteLossError",
    "SampleGrid",
    "ScalarLogger",
    "StepCounter",
    "TrainingCheckpoint",
    "apply_overrides",
    "checkpoint_variables",
    "ema",
    "find_optimizers",
    "image_grid",
    "is_chief",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_config",
    "num_replicas",
    "plan_segments",
    "precision_policy",
    "preview_sheet",
    "read_checkpoint_header",
    "refresh_statistics",
    "replica_batch_size",
    "replica_id",
    "replica_share",
    "replica_slice",
    "resolve_config",
    "run",
    "save_checkpoint",
    "save_image_grid",
    "strategy",
    "synchronize_batch_norm",
    "train",
    "update_average",
    "wrap_for_loss_scaling",
]
