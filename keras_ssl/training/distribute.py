"""Distribution strategies and batch arithmetic for training at scale.

One machine with several accelerators trains under
`tf.distribute.MirroredStrategy`; several machines under
`tf.distribute.MultiWorkerMirroredStrategy`, configured by the `TF_CONFIG`
environment variable. Models and every optimizer must be created inside
`strategy.scope()`; `keras_ssl.training.run` does this for you.

Each replica sees `global_batch_size / num_replicas` examples. Gradients are
summed over replicas, so a method divides its per-replica mean loss by the
number of replicas: the update then equals the one computed from the global
batch on a single device.

The replica helpers (`num_replicas`, `replica_id`, `replica_slice`,
`replica_share`) are what train steps call. They need no TensorFlow: in a
process that has not imported it (a JAX-only install) there is one replica.
Creating strategies imports TensorFlow.
"""

import json
import os

import keras

from keras_ssl.utils.imports import loaded_tensorflow

STRATEGY_KINDS = ("auto", "mirrored", "multi_worker", "default")


def cluster_spec_from_env():
    """The cluster described by `TF_CONFIG`, as a dict (empty when unset)."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG must be JSON with 'cluster' and 'task' keys. "
            f"Received: TF_CONFIG={raw!r} ({error})"
        ) from error
    if not isinstance(config, dict):
        raise ValueError(
            "TF_CONFIG must be a JSON object with 'cluster' and 'task' keys. "
            f"Received: TF_CONFIG={raw!r}"
        )
    return config


def num_workers_from_env():
    """How many worker processes (chief included) `TF_CONFIG` names."""
    cluster = cluster_spec_from_env().get("cluster", {})
    return sum(len(cluster.get(job, [])) for job in ("chief", "worker"))


def strategy(kind="auto", devices=None):
    """A `tf.distribute.Strategy` for training.

    Args:
        kind: `"auto"` picks `MultiWorkerMirroredStrategy` when `TF_CONFIG`
            names several workers, `MirroredStrategy` when several local
            devices are given or several GPUs are visible, and the default
            (single-device) strategy otherwise. `"mirrored"`,
            `"multi_worker"` and `"default"` force one of them.
        devices: optional list of local device names for `MirroredStrategy`,
            e.g. `["/cpu:0", "/cpu:1"]` or `["/gpu:0", "/gpu:1"]`. Defaults
            to all visible GPUs (or the CPU when there is none).

    Returns:
        A `tf.distribute.Strategy`; use it as `with strategy.scope(): ...`.

    Example:

    >>> s = strategy("default")
    >>> s.num_replicas_in_sync
    1
    """
    if kind not in STRATEGY_KINDS:
        raise ValueError(
            f"kind must be one of {STRATEGY_KINDS}. Received: kind={kind!r}"
        )
    import tensorflow as tf

    if devices is not None:
        if isinstance(devices, str) or not all(isinstance(d, str) for d in devices):
            raise TypeError(
                "devices must be a list of device names such as ['/gpu:0', "
                f"'/gpu:1']. Received: devices={devices!r}"
            )
        devices = list(devices)
        if not devices:
            raise ValueError(
                "devices must name at least one device. Received: devices=[]"
            )
    if kind == "auto":
        if num_workers_from_env() > 1:
            kind = "multi_worker"
        elif devices is not None and len(devices) > 1:
            kind = "mirrored"
        elif devices is None and len(tf.config.list_logical_devices("GPU")) > 1:
            kind = "mirrored"
        elif devices is not None:
            return tf.distribute.OneDeviceStrategy(devices[0])
        else:
            kind = "default"
    if kind == "default":
        if devices is not None:
            raise ValueError(
                "kind='default' runs on the default device; use kind='mirrored' "
                f"to choose devices. Received: devices={devices!r}"
            )
        return tf.distribute.get_strategy()
    key = (kind, None if devices is None else tuple(devices))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _create(kind, devices)
    return _STRATEGIES[key]


# Several MirroredStrategy objects in one process can hand out colliding
# collective-op keys (a shape-mismatch error in the all-reduce), and
# MultiWorkerMirroredStrategy may only be created once per process, so the
# same arguments return the same strategy.
_STRATEGIES = {}


def _create(kind, devices):
    import tensorflow as tf

    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if devices is not None:
        raise ValueError(
            "kind='multi_worker' uses the local GPUs (or CPU) of each worker; "
            f"devices cannot be chosen. Received: devices={devices!r}"
        )
    # RING collectives work on CPUs and GPUs alike; NCCL is picked
    # automatically for GPUs by the AUTO default.
    return tf.distribute.MultiWorkerMirroredStrategy()


def num_replicas(distribution=None):
    """Number of replicas that compute one step together."""
    if distribution is None:
        tf = loaded_tensorflow()
        if tf is None:
            return 1
        distribution = tf.distribute.get_strategy()
    return int(distribution.num_replicas_in_sync)


def replica_id():
    """This replica's index in the current replica context (0 outside one)."""
    tf = loaded_tensorflow()
    if tf is None:
        return 0
    context = tf.distribute.get_replica_context()
    # A tensor inside a traced step under MirroredStrategy: no int() here.
    return 0 if context is None else context.replica_id_in_sync_group


def replica_slice(values, batch_size):
    """This replica's `batch_size` rows of `values`, a global-batch tensor.

    Rows `[i * batch_size, (i + 1) * batch_size)` for replica `i`, so that
    the replicas together cover the global batch in order.

    Example:

    >>> import numpy as np
    >>> replica_slice(np.arange(6), 3).tolist()
    [0, 1, 2]
    """
    start = replica_id() * batch_size
    return values[start : start + batch_size]


def replica_share(draw, batch_size):
    """This replica's `batch_size` rows of `draw(global batch size)`.

    Every replica holds the same `keras.random.SeedGenerator` state, so each
    one drawing its own batch would give all replicas the same noise.
    Drawing the global batch everywhere and keeping this replica's slice
    gives exactly the noise one device draws for the whole batch.

    Example:

    >>> import keras
    >>> tuple(replica_share(lambda n: keras.ops.zeros((n, 2)), 4).shape)
    (4, 2)
    """
    replicas = num_replicas()
    if replicas == 1:
        return draw(batch_size)
    return replica_slice(draw(batch_size * replicas), batch_size)


def gather_replicas(*values):
    """`values` concatenated over the replicas in sync (unchanged on one).

    Under a `tf.distribute` strategy with several replicas, each value is
    all-gathered along its first axis; a process that never imported
    TensorFlow has one replica.
    """
    tf = loaded_tensorflow()
    context = None if tf is None else tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync <= 1:
        return values
    return tuple(context.all_gather(value, axis=0) for value in values)


def replica_batch_size(global_batch_size, distribution=None):
    """The number of examples each replica sees for `global_batch_size`.

    Raises a `ValueError` when the global batch does not split evenly, since
    uneven replicas would weight examples differently.

    Example:

    >>> replica_batch_size(64, strategy("default"))
    64
    """
    if not isinstance(global_batch_size, int) or global_batch_size < 1:
        raise ValueError(
            "global_batch_size must be a positive integer. "
            f"Received: global_batch_size={global_batch_size!r}"
        )
    replicas = num_replicas(distribution)
    if global_batch_size % replicas:
        raise ValueError(
            f"global_batch_size must be divisible by the number of replicas "
            f"({replicas}). Received: global_batch_size={global_batch_size}"
        )
    return global_batch_size // replicas


def is_chief(distribution=None):
    """Whether this process writes files (checkpoints, logs, samples).

    With several workers only the chief (or worker 0 when there is no chief)
    writes, so that workers do not overwrite each other's files.
    """
    if distribution is None:
        tf = loaded_tensorflow()
        if tf is None:
            return True
        distribution = tf.distribute.get_strategy()
    resolver = getattr(distribution, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "cluster_spec", None):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def synchronize_batch_norm(model):
    """Make every `BatchNormalization` layer in `model` use global statistics.

    Under a strategy, batch statistics are otherwise computed per replica;
    with small per-replica batches (GANs at high resolution) synchronized
    statistics match single-device training. Call before the first training
    step. Layers that compute their own statistics (not through a
    `keras.layers.BatchNormalization`) are not changed.

    Returns:
        The number of layers changed.
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(
            f"model must be a keras Layer or Model. Received: model={model!r}"
        )
    changed = 0
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            if not layer.synchronized:
                layer.synchronized = True
                changed += 1
    return changed


def _all_layers(root):
    seen = set()
    stack = [root]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "_layers", []))
