"""Image resampling in `keras.ops`, equal to TensorFlow's on every backend.

`keras.ops.image.resize` has no "area" method outside TensorFlow, and
Keras has no `crop_and_resize`; methods that use them (colorization's
reduced-resolution targets, Exemplar's crops) call these instead, so that
they train on any backend and give TensorFlow's numbers.
"""

import keras
import numpy as np
from keras import ops


def resize_images(x, size, interpolation="bilinear"):
    """`x` (B, H, W, C) resized to `size` (h, w); identity when equal.

    `interpolation="area"` (each output pixel the mean of the input area it
    covers, as `tf.image.resize(method="area")`) works on every backend;
    the input's H and W must then be static.
    """
    if tuple(x.shape[1:3]) == tuple(size):
        return x
    if interpolation == "area" and keras.backend.backend() != "tensorflow":
        return area_resize(x, size)
    return ops.image.resize(x, tuple(size), interpolation=interpolation)


def _area_weights(size_in, size_out):
    """(size_out, size_in) weights: each row the covered share of each input."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in), "float32")
    for i in range(size_out):
        start, end = i * scale, (i + 1) * scale
        for j in range(int(np.floor(start)), min(int(np.ceil(end)), size_in)):
            weights[i, j] = min(end, j + 1) - max(start, j)
    return weights / scale


def area_resize(x, size):
    """Area resize of `x` (B, H, W, C) to `size` (h, w) in `keras.ops`.

    Example:

    >>> import numpy as np
    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> np.asarray(area_resize(x, (2, 2)))[0, :, :, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    height, width = (int(v) for v in x.shape[1:3])
    rows = _area_weights(height, int(size[0]))
    columns = _area_weights(width, int(size[1]))
    x = ops.einsum("ih,bhwc->biwc", rows, x)
    return ops.einsum("jw,biwc->bijc", columns, x)


def _crop_coordinates(start, end, size, crop_size):
    """Sample positions of a crop along one axis, as `tf.image.crop_and_resize`.

    `start`, `end` (N,) are normalised box edges; returns the low and high
    pixel indices (N, crop_size), the interpolation weight of the high one,
    and whether each position lies inside the image.
    """
    last = ops.cast(size - 1, "float32")
    steps = ops.cast(ops.arange(crop_size), "float32")[None, :]
    if crop_size > 1:
        scale = (end - start) * last / float(crop_size - 1)
        position = start[:, None] * last + steps * scale[:, None]
    else:
        position = (0.5 * (start + end) * last)[:, None] + 0.0 * steps
    inside = ops.logical_and(position >= 0.0, position <= last)
    low = ops.floor(position)
    weight = position - low
    high = ops.ceil(position)
    limit = size - 1

    def index(value):
        return ops.clip(ops.cast(value, "int32"), 0, limit)

    return index(low), index(high), weight, inside


def crop_and_resize(images, boxes, crop_size):
    """Bilinear crops of `images`, one per box, in `keras.ops`.

    The computation of `tf.image.crop_and_resize(images, boxes,
    range(N), crop_size)` (bilinear, extrapolation value 0), on every
    backend: crop `n` of images (N, H, W, C) is the box `boxes[n]` =
    `(y1, x1, y2, x2)` in normalised coordinates, resampled to `crop_size`
    = `(height, width)`; `height` and `width` must be static.

    Example:

    >>> import numpy as np
    >>> images = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> crop = crop_and_resize(images, np.array([[0.0, 0.0, 1.0, 1.0]]), (4, 4))
    >>> bool(np.allclose(crop, images))
    True
    """
    images = ops.convert_to_tensor(images, "float32")
    boxes = ops.cast(boxes, "float32")
    count, height, width, channels = ops.shape(images)
    crop_height, crop_width = (int(v) for v in crop_size)
    top, bottom, y_weight, y_inside = _crop_coordinates(
        boxes[:, 0], boxes[:, 2], height, crop_height
    )
    left, right, x_weight, x_inside = _crop_coordinates(
        boxes[:, 1], boxes[:, 3], width, crop_width
    )
    batch = ops.arange(count, dtype="int32")[:, None]

    def rows(index):  # (N, crop_height, W, C)
        flat = ops.reshape(images, (-1, width, channels))
        return ops.take(flat, batch * height + index, axis=0)

    def columns(values, index):  # (N, crop_height, crop_width, C)
        values = ops.transpose(values, (0, 2, 1, 3))
        flat = ops.reshape(values, (-1, crop_height, channels))
        picked = ops.take(flat, batch * width + index, axis=0)
        return ops.transpose(picked, (0, 2, 1, 3))

    x_weight = x_weight[:, None, :, None]

    def lerp_x(values):
        left_values = columns(values, left)
        return left_values + (columns(values, right) - left_values) * x_weight

    upper = lerp_x(rows(top))
    lower = lerp_x(rows(bottom))
    crops = upper + (lower - upper) * y_weight[:, :, None, None]
    inside = ops.logical_and(y_inside[:, :, None, None], x_inside[:, None, :, None])
    return ops.where(inside, crops, 0.0)
