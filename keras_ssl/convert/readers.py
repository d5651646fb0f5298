"""Readers of the originals' checkpoint files into `{name: numpy array}`.

torch is an optional dependency (`pip install "keras-ssl[convert]"`), imported
only here, only when a PyTorch file is read, and always with
`weights_only=True`, so a checkpoint cannot run code.
"""

import os

import numpy as np


def _require_file(path, what):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def import_torch():
    """`torch`, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "Reading PyTorch checkpoints needs torch, an optional dependency: "
            'pip install "keras-ssl[convert]"'
        ) from error
    return torch


def read_torch_state_dict(path, key=None):
    """The state dict in a PyTorch file, as `{name: numpy array}`.

    Args:
        path: a file written by `torch.save`.
        key: the entry holding the state dict when the file wraps it (e.g.
            Mimicry's `"model_state_dict"`, RotNet's `"network"`); `None`
            for a bare state dict. A list of keys tries each in turn.

    Raises:
        ValueError: the file is not a torch checkpoint, or holds no state
            dict under `key`; the message names the path and what it holds.
    """
    torch = import_torch()
    path = _require_file(path, "PyTorch checkpoint")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a bad file
        raise ValueError(
            f"{path} is not a readable PyTorch checkpoint (torch.save file, read "
            f"with weights_only=True): {type(error).__name__}: {error}"
        ) from error
    keys = [key] if isinstance(key, str) or key is None else list(key)
    state = None
    for candidate in keys:
        if candidate is None and _is_state_dict(loaded):
            state = loaded
            break
        if isinstance(loaded, dict) and candidate in loaded:
            state = loaded[candidate]
            break
    if state is None or not _is_state_dict(state):
        found = list(loaded)[:10] if isinstance(loaded, dict) else type(loaded)
        raise ValueError(
            f"{path} holds no state dict under key={key!r}. Found: {found}"
        )
    return {
        name: value.detach().cpu().numpy()
        for name, value in state.items()
        if hasattr(value, "detach")
    }


def _is_state_dict(value):
    return (
        isinstance(value, dict)
        and bool(value)
        and all(hasattr(v, "detach") for v in value.values())
    )


def read_tf_checkpoint(path):
    """Every variable of a TensorFlow checkpoint, as `{name: numpy array}`.

    Args:
        path: a checkpoint prefix (`.../model.ckpt-1000`), a folder holding
            a checkpoint, or a TF-Hub module folder (its variables live in
            `variables/variables`). No graph is run: values are read by name
            with `tf.train.load_checkpoint`.
    """
    import tensorflow as tf

    path = os.fspath(path)
    prefix = path
    if os.path.isdir(path):
        hub = os.path.join(path, "variables", "variables")
        if os.path.exists(hub + ".index"):
            prefix = hub
        else:
            prefix = tf.train.latest_checkpoint(path)
            if prefix is None:
                raise FileNotFoundError(
                    f"No TensorFlow checkpoint in folder {path} (looked for "
                    "variables/variables.index of a TF-Hub module and for a "
                    "'checkpoint' file)."
                )
    elif not os.path.exists(prefix + ".index"):
        raise FileNotFoundError(
            f"TensorFlow checkpoint not found: {path} (expected {path}.index)"
        )
    reader = tf.train.load_checkpoint(prefix)
    return {
        name: np.asarray(reader.get_tensor(name))
        for name in reader.get_variable_to_shape_map()
    }
