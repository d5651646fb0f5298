"""Patch cropping and the context-prediction pretext (Doersch et al. 2015).

The eight neighbours of the centre patch are numbered in reading order,
skipping the centre:

    0 1 2
    3 . 4
    5 6 7

`NEIGHBOUR_OFFSETS[k]` is the (row, column) step of neighbour `k`.
"""

import keras
from keras import ops

from keras_ssl.ops.color import images_to_lab, lab_to_images

NEIGHBOUR_OFFSETS = (
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
)


def split_seed(seed, count):
    """`count` seeds for independent draws from one `seed`.

    A `keras.random.SeedGenerator` advances on every draw, so it is reused; an
    int gives `seed, seed + 1, ...` so that draws in one call differ but the
    call stays reproducible; None stays None.
    """
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return [seed] * count
    return [int(seed) + index for index in range(count)]


def _static_hw(images, function):
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(
            f"{function} expects images of rank 4 (B, H, W, C). Received: shape={shape}"
        )
    if shape[1] is None or shape[2] is None:
        raise ValueError(
            f"{function} needs a static image height and width. Received: shape={shape}"
        )
    return shape[1], shape[2]


def crop_patches(images, top, left, size):
    """Crop square patches at per-image positions with one gather.

    Args:
        images: (B, H, W, C) images.
        top, left: int (B, K) row and column of each patch's top-left pixel;
            every patch must lie inside the image.
        size: patch side in pixels (a Python int).

    Returns:
        (B, K, size, size, C) patches; patch `[b, k]` is
        `images[b, top[b, k]:top[b, k] + size, left[b, k]:left[b, k] + size]`.

    Example:

    >>> import numpy as np
    >>> images = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)
    >>> patches = crop_patches(images, [[0], [2]], [[1], [2]], 2)
    >>> np.asarray(patches)[1, 0, :, :, 0].tolist()
    [[26.0, 27.0], [30.0, 31.0]]
    """
    height, width = _static_hw(images, "crop_patches")
    top = ops.cast(ops.convert_to_tensor(top), "int32")
    left = ops.cast(ops.convert_to_tensor(left), "int32")
    batch = ops.shape(images)[0]
    channels = ops.shape(images)[3]
    steps = ops.arange(size, dtype="int32")
    rows = top[:, :, None, None] + steps[None, None, :, None]
    cols = left[:, :, None, None] + steps[None, None, None, :]
    base = ops.arange(batch, dtype="int32")[:, None, None, None] * (height * width)
    flat_index = base + rows * width + cols
    flat = ops.reshape(images, (-1, channels))
    return ops.take(flat, flat_index, axis=0)


def context_layout_size(patch_size, gap, jitter):
    """Side in pixels of the 3x3 patch layout of `context_patch_pairs`."""
    return 3 * patch_size + 2 * gap + 3 * jitter


def check_context_layout(image_size, patch_size, gap, jitter):
    """Raise a clear `ValueError` if the 3x3 layout does not fit the images."""
    for name, value, low in (
        ("patch_size", patch_size, 1),
        ("gap", gap, 0),
        ("jitter", jitter, 0),
    ):
        if not isinstance(value, int) or value < low:
            raise ValueError(
                f"{name} must be an int >= {low}. Received: {name}={value}"
            )
    needed = context_layout_size(patch_size, gap, jitter)
    if min(image_size) < needed:
        raise ValueError(
            "Images are too small for the context-prediction patch layout: "
            f"3 * patch_size + 2 * gap + 3 * jitter = {needed} pixels are "
            f"needed. Received: image size={tuple(image_size)}, "
            f"patch_size={patch_size}, gap={gap}, jitter={jitter}"
        )


def context_patch_pairs(
    images,
    patch_size,
    gap=0,
    jitter=0,
    positions=None,
    random=True,
    seed=None,
    yoked=False,
):
    """A centre patch and one of its eight neighbours per image.

    The patches sit on a 3x3 grid whose cells are `patch_size + gap + jitter`
    apart; inside its cell each patch moves by an independent random shift in
    [0, `jitter`] along each axis, so neighbouring patches are always at least
    `gap` pixels apart and the layout spans `3 * patch_size + 2 * gap +
    3 * jitter` pixels (Doersch et al. used a gap of half a patch and jitter
    of up to 7 pixels on 96-pixel patches). The layout is placed at a random
    position inside the image when `random`, else centred with shifts of
    `jitter // 2`.

    Args:
        images: (B, H, W, C) images with static H and W.
        patch_size: side of each patch.
        gap: minimum number of pixels between neighbouring patches.
        jitter: maximum random shift of each patch.
        positions: optional int (B,) neighbour index in 0..7 (see
            `NEIGHBOUR_OFFSETS`); random when None.
        random: False for a deterministic centred layout (evaluation).
        seed: int or `keras.random.SeedGenerator` for the random draws.
        yoked: Mundhenk et al. (2018)'s yoked jitter: one random shift per
            image moves both patches together (their relative offset is
            exactly the grid offset), instead of one shift per patch.

    Returns:
        `(centre, neighbour, positions)`: two (B, patch_size, patch_size, C)
        tensors and the int32 (B,) neighbour index, the 8-way label.

    Example:

    >>> import numpy as np
    >>> centre, neighbour, labels = context_patch_pairs(
    ...     np.zeros((2, 32, 32, 3), "float32"), 8, gap=2, jitter=1, seed=0)
    >>> tuple(centre.shape), tuple(labels.shape)
    ((2, 8, 8, 3), (2,))
    """
    height, width = _static_hw(images, "context_patch_pairs")
    check_context_layout((height, width), patch_size, gap, jitter)
    batch = ops.shape(images)[0]
    extent = context_layout_size(patch_size, gap, jitter)
    pitch = patch_size + gap + jitter
    seeds = split_seed(seed, 4)
    if positions is None:
        if random:
            positions = keras.random.randint(
                (batch,), 0, 8, dtype="int32", seed=seeds[0]
            )
        else:
            positions = ops.arange(batch, dtype="int32") % 8
    positions = ops.cast(ops.convert_to_tensor(positions), "int32")
    if random:
        origin_y = keras.random.randint(
            (batch, 1), 0, height - extent + 1, dtype="int32", seed=seeds[1]
        )
        origin_x = keras.random.randint(
            (batch, 1), 0, width - extent + 1, dtype="int32", seed=seeds[2]
        )
        shift = keras.random.randint(
            (batch, 1 if yoked else 2, 2), 0, jitter + 1, dtype="int32", seed=seeds[3]
        )
    else:
        origin_y = ops.full((batch, 1), (height - extent) // 2, dtype="int32")
        origin_x = ops.full((batch, 1), (width - extent) // 2, dtype="int32")
        shift = ops.full((batch, 2, 2), jitter // 2, dtype="int32")
    offsets = ops.convert_to_tensor(NEIGHBOUR_OFFSETS, dtype="int32")
    step = ops.take(offsets, positions, axis=0) + 1
    cells = ops.stack([ops.ones_like(step), step], axis=1)
    top = origin_y + cells[:, :, 0] * pitch + shift[:, :, 0]
    left = origin_x + cells[:, :, 1] * pitch + shift[:, :, 1]
    patches = crop_patches(images, top, left, patch_size)
    return patches[:, 0], patches[:, 1], positions


def project_color(images):
    """Remove the green-magenta colour axis from RGB images.

    Doersch et al. (2015) found that networks locate patches from chromatic
    aberration, which shifts green against magenta across the lens; projecting
    every pixel onto the plane orthogonal to (-1, 2, -1)/sqrt(6) removes that
    cue while keeping the rest of the colour.

    Args:
        images: (..., 3) RGB values, any range.

    Example:

    >>> import numpy as np
    >>> out = np.asarray(project_color(np.array([[0.5, 1.0, -0.2]], "float32")))
    >>> bool(abs(out @ np.array([-1.0, 2.0, -1.0]))[0] < 1e-6)
    True
    """
    if images.shape[-1] != 3:
        raise ValueError(
            "project_color needs RGB images with 3 channels. "
            f"Received: shape={tuple(images.shape)}"
        )
    axis = ops.convert_to_tensor([-1.0, 2.0, -1.0], dtype=images.dtype) / (6.0**0.5)
    return images - ops.sum(images * axis, axis=-1, keepdims=True) * axis


def drop_color_channels(images, noise_scale=0.01, seed=None):
    """Keep one random channel per image; replace the others by weak noise.

    The "colour dropping" countermeasure of Doersch et al. (2015): two of the
    three channels of each patch are replaced by Gaussian noise with about
    1/100 of the kept channel's standard deviation, so the network cannot
    compare channels to read chromatic aberration.

    Args:
        images: (B, ..., C) images; each leading index gets its own draw.
        noise_scale: noise standard deviation relative to the kept channel's.
        seed: int or `keras.random.SeedGenerator`.

    Example:

    >>> import numpy as np
    >>> out = np.asarray(drop_color_channels(np.ones((4, 8, 8, 3), "float32"),
    ...                                      seed=0))
    >>> bool(((np.abs(out - 1) < 1e-6).all(axis=(1, 2))).sum(axis=-1).max() == 1)
    True
    """
    shape = ops.shape(images)
    rank = len(images.shape)
    channels = images.shape[-1]
    seeds = split_seed(seed, 2)
    keep = keras.random.randint((shape[0],), 0, channels, dtype="int32", seed=seeds[0])
    mask = ops.one_hot(keep, channels, dtype=images.dtype)
    mask = ops.reshape(mask, (shape[0],) + (1,) * (rank - 2) + (channels,))
    spatial = tuple(range(1, rank - 1))
    kept = ops.sum(images * mask, axis=-1, keepdims=True)
    std = ops.std(kept, axis=spatial, keepdims=True)
    noise = keras.random.normal(shape, seed=seeds[1], dtype=images.dtype)
    return images * mask + noise * noise_scale * std * (1.0 - mask)


def chroma_blur(images, size=13):
    """Blur the chroma (a, b of CIE Lab) of images, keeping their lightness.

    Mundhenk, Ho & Chen, "Improvements to Context Based Self-Supervised
    Learning", CVPR 2018: against chromatic aberration, the a and b channels
    are blurred with a `size` x `size` window (13 in the paper) while L is
    kept, so colour edges no longer tell where a patch was in the lens.

    Args:
        images: (B, H, W, 3) RGB images in [-1, 1].
        size: odd side of the box window (13 in the paper).

    Returns:
        (B, H, W, 3) images in [-1, 1]; L is unchanged wherever the blurred
        colour stays inside the sRGB gamut (elsewhere it is clipped).

    Example:

    >>> import numpy as np
    >>> grey = np.zeros((1, 8, 8, 3), "float32")
    >>> bool(np.allclose(chroma_blur(grey, 3), grey, atol=1e-3))
    True
    """
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd int >= 1. Received: size={size!r}")
    lab = images_to_lab(images)
    lightness, chroma = lab[..., :1], lab[..., 1:]
    # Mean over the window, counting only pixels inside the image.
    ones = ops.ones_like(chroma[..., :1])
    total = ops.average_pool(chroma, size, strides=1, padding="same")
    weight = ops.average_pool(ones, size, strides=1, padding="same")
    blurred = total / ops.maximum(weight, 1e-6)
    return lab_to_images(ops.concatenate([lightness, blurred], axis=-1))
