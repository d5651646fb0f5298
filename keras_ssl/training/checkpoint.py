"""Atomic checkpoints of everything a training run needs to resume.

A checkpoint holds, in one `.npz` file:

- every variable of the model (`model.variables`): the weights of all
  sub-models, batch-norm statistics, spectral-norm power-iteration vectors,
  EMA copies and memory banks kept as variables, and the state of every
  `keras.random.SeedGenerator`;
- every variable of every optimizer the model holds (`model.optimizer` and
  any other optimizer attribute, e.g. a generator's and a discriminator's),
  which includes their step counters, moments, loss-scale state and EMA
  weights;
- a JSON header with the global step and what the run wants to remember.

The file is written under a temporary name in the same directory, flushed
to disk, then renamed with `os.replace`, which is atomic: a process killed
at any moment leaves either the previous checkpoint or the new one, never a
torn file. A checkpoint whose variables are not all finite is refused, so
a diverged run cannot overwrite the last good state.
"""

import glob
import json
import os
import re

import keras
import numpy as np

CHECKPOINT_FORMAT = 1
_NAME = re.compile(r"^ckpt-(\d+)\.npz$")


def find_optimizers(model):
    """The optimizers `model` holds, by attribute name, in a stable order.

    Looks at the model's attributes (sorted by name) for
    `keras.optimizers.Optimizer` instances and lists or dicts of them; an
    optimizer reachable under several names is listed once.
    """
    found = {}
    seen = set()
    attributes = vars(model)
    # Plain attributes first, so that an optimizer is named after the
    # attribute a method gave it rather than after Keras' tracking tables.
    names = sorted(attributes, key=lambda n: (n.startswith("_"), n))
    for name in names:
        value = attributes[name]
        if isinstance(value, dict):
            items = [
                (f"{name}.{k}", v)
                for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            ]
        elif isinstance(value, list | tuple):
            items = [(f"{name}.{i}", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for key, candidate in items:
            if (
                isinstance(candidate, keras.optimizers.Optimizer)
                and id(candidate) not in seen
            ):
                seen.add(id(candidate))
                found[key.lstrip("_")] = candidate
    # A group that only lists other optimizers' variables (the adversarial
    # methods' `model.optimizer`, `OptimizerGroup`) would save them twice.
    return {
        key: optimizer
        for key, optimizer in found.items()
        if not isinstance(getattr(optimizer, "optimizers", None), list)
    }


def checkpoint_variables(model):
    """Groups of variables saved in a checkpoint: `{"model": [...], ...}`.

    `model.optimizer` is built on the model's trainable variables if it is
    not yet, as `fit` does under a strategy, so that a checkpoint written
    with or without a strategy has the same layout.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    groups = {"model": list(model.variables)}
    for name, optimizer in find_optimizers(model).items():
        groups[f"optimizer:{name}"] = list(optimizer.variables)
    return groups


def checkpoint_path(directory, step):
    return os.path.join(os.fspath(directory), f"ckpt-{int(step):09d}.npz")


def list_checkpoints(directory):
    """Complete checkpoints in `directory`, oldest first, as `(step, path)`."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return []
    found = []
    for path in glob.glob(os.path.join(directory, "ckpt-*.npz")):
        match = _NAME.match(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest complete checkpoint in `directory`, or `None`."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def _to_numpy(variable):
    value = keras.ops.convert_to_numpy(variable.value)
    if value.dtype.kind == "V" or str(value.dtype) == "bfloat16":
        value = value.astype("float32")
    return np.asarray(value)


def save_checkpoint(model, directory, step, metadata=None, keep=2):
    """Write a checkpoint of `model` at `step` atomically; return its path.

    Args:
        model: a built `keras.Model` (optimizers built too).
        directory: where checkpoints live; created if needed.
        step: the global training step the state corresponds to.
        metadata: JSON-serializable dict stored with the checkpoint.
        keep: how many newest checkpoints to keep (older ones are deleted
            after the new one is in place).

    Raises:
        FloatingPointError: if a variable holds NaN or Inf; nothing is
            written.
    """
    if not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be a positive integer. Received: keep={keep!r}")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    arrays = {}
    header = {
        "format": CHECKPOINT_FORMAT,
        "step": int(step),
        "metadata": metadata or {},
        "groups": {},
    }
    for group, variables in checkpoint_variables(model).items():
        entries = []
        for index, variable in enumerate(variables):
            value = _to_numpy(variable)
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                raise FloatingPointError(
                    f"Refusing to checkpoint step {step}: variable "
                    f"{variable.path!r} ({group}) holds NaN or Inf."
                )
            key = f"{group}/{index}"
            arrays[key] = value
            entries.append([variable.path, list(value.shape), str(value.dtype)])
        header["groups"][group] = entries
    arrays["__header__"] = np.frombuffer(
        json.dumps(header).encode("utf-8"), dtype=np.uint8
    )
    final = checkpoint_path(directory, step)
    temporary = f"{final}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    _fsync_directory(directory)
    for _, old in list_checkpoints(directory)[:-keep]:
        os.remove(old)
    return final


def _fsync_directory(directory):
    # The rename itself must reach the disk for the checkpoint to survive a
    # power cut; directories cannot be opened for fsync on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_checkpoint_header(path):
    """The JSON header of a checkpoint: `step`, `metadata`, `groups`."""
    with np.load(os.fspath(path)) as archive:
        return json.loads(archive["__header__"].tobytes().decode("utf-8"))


def load_checkpoint(model, path):
    """Restore the variables of `model` and its optimizers from `path`.

    The model and all its optimizers must be built (they are after one call
    of the model and `compile`). Variables are matched by position within
    each group and checked by shape, so a checkpoint restores into a model
    built in another process even though automatic layer names differ.

    Returns:
        The checkpoint header (a dict with `step` and `metadata`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint at {path}")
    groups = checkpoint_variables(model)
    with np.load(path) as archive:
        header = json.loads(archive["__header__"].tobytes().decode("utf-8"))
        saved_groups = header["groups"]
        missing = sorted(set(saved_groups) - set(groups))
        if missing:
            raise ValueError(
                f"Checkpoint {path} holds state for {missing}, which the model "
                f"does not have (it has {sorted(groups)}). Build and compile the "
                "same method with the same configuration before restoring."
            )
        for group, variables in groups.items():
            entries = saved_groups.get(group)
            if entries is None:
                if group.startswith("optimizer:") and not variables:
                    continue
                raise ValueError(
                    f"Checkpoint {path} has no state for {group!r}; it was "
                    "written by a different method or configuration."
                )
            if len(entries) != len(variables):
                raise ValueError(
                    f"Checkpoint {path} holds {len(entries)} variables for "
                    f"{group!r} but the model has {len(variables)}. Was the "
                    "optimizer built (call the model once and compile it) and "
                    "is the configuration the same?"
                )
            for index, (variable, entry) in enumerate(
                zip(variables, entries, strict=True)
            ):
                value = archive[f"{group}/{index}"]
                if tuple(value.shape) != tuple(variable.shape):
                    raise ValueError(
                        f"Checkpoint variable {entry[0]!r} has shape "
                        f"{tuple(value.shape)} but the model's {variable.path!r} "
                        f"has shape {tuple(variable.shape)}."
                    )
                variable.assign(keras.ops.cast(value, variable.dtype))
    return header
