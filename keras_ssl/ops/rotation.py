"""Rotations by multiples of 90 degrees, the pretext of RotNet and SS-GAN."""

from keras import ops


def rotate90(images, k):
    """Rotate a batch of images (B, H, W, C) counter-clockwise by `k` * 90 degrees.

    `k` is a Python int; the result matches `numpy.rot90(image, k)` applied to
    each image (H and W swap for odd `k`).
    """
    k = int(k) % 4
    if k == 0:
        return images
    if k == 1:
        return ops.flip(ops.transpose(images, (0, 2, 1, 3)), axis=1)
    if k == 2:
        return ops.flip(ops.flip(images, axis=1), axis=2)
    return ops.transpose(ops.flip(images, axis=1), (0, 2, 1, 3))


def rotation_batch(images):
    """All four rotations of every image, stacked, with their rotation labels.

    Used by RotNet (Gidaris et al. 2018) and SS-GAN (Chen et al. 2019).

    Args:
        images: (B, H, W, C) square images.

    Returns:
        `(rotated, labels)`: rotated is (4B, H, W, C), the whole batch rotated
        by 0, 90, 180 and 270 degrees in that order; labels is int32 (4B,)
        with label r for the batch rotated by r * 90 degrees.

    Example:

    >>> import numpy as np
    >>> rotated, labels = rotation_batch(np.zeros((2, 8, 8, 3), "float32"))
    >>> tuple(rotated.shape), [int(v) for v in labels]
    ((8, 8, 8, 3), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    shape = ops.shape(images)
    if len(shape) != 4:
        raise ValueError(
            f"rotation_batch expects images of rank 4 (B, H, W, C). "
            f"Received: shape={tuple(shape)}"
        )
    height, width = shape[1], shape[2]
    # Dimensions unknown until run time (None or tensors) are not checked here.
    if isinstance(height, int) and isinstance(width, int) and height != width:
        raise ValueError(
            "rotation_batch needs square images so that rotated copies stack. "
            f"Received: height={height}, width={width}"
        )
    rotated = ops.concatenate([rotate90(images, k) for k in range(4)], axis=0)
    batch = ops.shape(images)[0]
    labels = ops.repeat(ops.arange(4, dtype="int32"), batch)
    return rotated, labels
