"""Label handling shared by the class-conditional layers."""

import numbers

from keras import ops


def labels_to_weights(labels, num_classes, dtype, layer_name):
    """Turn int class ids (B,) or soft labels (B, K) into mixing weights (B, K).

    Integer labels of shape (B,) or (B, 1) become one-hot rows; float labels of
    shape (B, num_classes) are used as they are (one-hot or soft), so that a
    per-class table looked up with them is `weights @ table`.
    """
    shape = tuple(labels.shape)
    is_int = "int" in str(labels.dtype)
    if len(shape) == 2 and is_int and shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
        shape = shape[:1]
    if len(shape) == 1:
        return ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype=dtype)
    if len(shape) == 2:
        if is_int:
            raise TypeError(
                f"{layer_name} expects integer labels of shape (B,) or float "
                f"soft labels of shape (B, {num_classes}). Received: integer "
                f"labels of shape {shape}"
            )
        if shape[-1] is not None and shape[-1] != num_classes:
            raise ValueError(
                f"{layer_name} expects soft labels of shape (B, num_classes="
                f"{num_classes}). Received: labels of shape {shape}"
            )
        return ops.cast(labels, dtype)
    raise ValueError(
        f"{layer_name} expects labels of rank 1 (class ids) or rank 2 (soft "
        f"labels). Received: labels of shape {shape}"
    )


def check_num_classes(num_classes, layer_name):
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(
            f"{layer_name} expects num_classes to be an int. "
            f"Received: num_classes={num_classes!r}"
        )
    if num_classes < 1:
        raise ValueError(
            f"{layer_name} expects num_classes >= 1. "
            f"Received: num_classes={num_classes}"
        )
