"""Patch sets for context prediction, with Mundhenk et al. (2018)'s additions.

Reference: Mundhenk, Ho & Chen, "Improvements to Context Based
Self-Supervised Learning", CVPR 2018, and their released loader
(LLNL/selfsupervised, `python/LoadFunctions.py`).

Patches sit on the 3x3 grid of `keras_ssl.ops.context_patch_pairs`; a
configuration is a tuple of grid cells `(row, column)`, rows and columns
0..2, the centre being `(1, 1)`. Two sets are defined:

- `PAIR_CONFIGURATIONS` (Doersch et al. 2015, 8 classes): the centre and
  neighbour `k`, in the reading order of `NEIGHBOUR_OFFSETS`.
- `TRIPLE_CONFIGURATIONS` (20 classes of three patches): with the
  neighbours numbered clockwise from the top-left corner (TL, T, TR, R, BR,
  B, BL, L), classes 0-7 are the lines `(neighbour k, centre, neighbour
  k + 4)`, classes 8-11 the right angles at the centre `(T, C, R)`, `(R, C,
  B)`, `(B, C, L)`, `(L, C, T)`, and classes 12-19 the centre with two
  adjacent neighbours `(C, neighbour k, neighbour k + 1)`.

The authors train on triples of patches in 20 configuration classes (80
with rotation). Their loader's mirror-relabelling table agrees with classes
0-11 as numbered here (mirroring maps line 0 to 2, 3 to 7, 4 to 6 and keeps
1 and 5; right angle 8 to 11 and 9 to 10 with the outer patches swapped).
The layouts of their classes 12-19 are drawn only in the paper's figure;
ours (the centre and two adjacent neighbours) is a reconstruction.
"""

import math

import keras
from keras import ops

from keras_ssl.ops.patches import (
    NEIGHBOUR_OFFSETS,
    check_context_layout,
    context_layout_size,
    crop_patches,
    split_seed,
)
from keras_ssl.ops.rotation import rotate90

_CENTRE = (1, 1)
# The eight neighbours clockwise from the top-left corner.
_RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))

PAIR_CONFIGURATIONS = tuple(
    (_CENTRE, (1 + row, 1 + col)) for row, col in NEIGHBOUR_OFFSETS
)

TRIPLE_CONFIGURATIONS = (
    tuple((_RING[k], _CENTRE, _RING[(k + 4) % 8]) for k in range(8))
    + (
        ((0, 1), _CENTRE, (1, 2)),
        ((1, 2), _CENTRE, (2, 1)),
        ((2, 1), _CENTRE, (1, 0)),
        ((1, 0), _CENTRE, (0, 1)),
    )
    + tuple((_CENTRE, _RING[k], _RING[(k + 1) % 8]) for k in range(8))
)

PATCH_CONFIGURATIONS = {"pairs": PAIR_CONFIGURATIONS, "triples": TRIPLE_CONFIGURATIONS}


def patch_configurations(name):
    """The configuration table `name` (`"pairs"` or `"triples"`).

    Example:

    >>> len(patch_configurations("triples")), len(patch_configurations("pairs"))
    (20, 8)
    """
    if name not in PATCH_CONFIGURATIONS:
        raise ValueError(
            f"configurations must be one of {tuple(PATCH_CONFIGURATIONS)}. "
            f"Received: configurations={name!r}"
        )
    return PATCH_CONFIGURATIONS[name]


def context_patch_sets(
    images,
    configurations,
    patch_size,
    gap=0,
    jitter=0,
    labels=None,
    random=True,
    seed=None,
    yoked=False,
):
    """One set of patches per image, in one of the given grid configurations.

    The grid is that of `context_patch_pairs`: cells `patch_size + gap +
    jitter` pixels apart, each patch shifted by a random offset in [0,
    `jitter`] along each axis (one offset for all patches of an image with
    `yoked`, Mundhenk et al.'s yoked jitter), the layout placed at a random
    position (or centred, with shifts of `jitter // 2`, when not `random`).

    Args:
        images: (B, H, W, C) images with static H and W.
        configurations: a name of `patch_configurations` or a sequence of
            configurations, each a sequence of K `(row, column)` cells.
        patch_size, gap, jitter: as in `context_patch_pairs`.
        labels: optional int (B,) configuration indices; random (or `b %
            len(configurations)` when not `random`) when None.
        random: False for the deterministic centred layout.
        seed: int or `keras.random.SeedGenerator`.
        yoked: one shift per image instead of one per patch.

    Returns:
        `(patches, labels)`: (B, K, patch_size, patch_size, C) and int32 (B,).

    Example:

    >>> import numpy as np
    >>> patches, labels = context_patch_sets(
    ...     np.zeros((2, 32, 32, 3), "float32"), "triples", 8, 2, 1, seed=0)
    >>> tuple(patches.shape), tuple(labels.shape)
    ((2, 3, 8, 8, 3), (2,))
    """
    if isinstance(configurations, str):
        configurations = patch_configurations(configurations)
    sizes = {len(cells) for cells in configurations}
    if len(sizes) != 1:
        raise ValueError(
            "Every configuration must have the same number of patches. "
            f"Received: sizes {sorted(sizes)}"
        )
    if tuple(images.shape)[1] is None or tuple(images.shape)[2] is None:
        raise ValueError(
            "context_patch_sets needs a static image height and width. "
            f"Received: shape={tuple(images.shape)}"
        )
    height, width = int(images.shape[1]), int(images.shape[2])
    check_context_layout((height, width), patch_size, gap, jitter)
    count = sizes.pop()
    batch = ops.shape(images)[0]
    extent = context_layout_size(patch_size, gap, jitter)
    pitch = patch_size + gap + jitter
    seeds = split_seed(seed, 4)
    if labels is None:
        if random:
            labels = keras.random.randint(
                (batch,), 0, len(configurations), dtype="int32", seed=seeds[0]
            )
        else:
            labels = ops.arange(batch, dtype="int32") % len(configurations)
    labels = ops.cast(ops.convert_to_tensor(labels), "int32")
    if random:
        origin_y = keras.random.randint(
            (batch, 1), 0, height - extent + 1, dtype="int32", seed=seeds[1]
        )
        origin_x = keras.random.randint(
            (batch, 1), 0, width - extent + 1, dtype="int32", seed=seeds[2]
        )
        shift = keras.random.randint(
            (batch, 1 if yoked else count, 2),
            0,
            jitter + 1,
            dtype="int32",
            seed=seeds[3],
        )
    else:
        origin_y = ops.full((batch, 1), (height - extent) // 2, dtype="int32")
        origin_x = ops.full((batch, 1), (width - extent) // 2, dtype="int32")
        shift = ops.full((batch, count, 2), jitter // 2, dtype="int32")
    table = ops.convert_to_tensor(configurations, dtype="int32")
    cells = ops.take(table, labels, axis=0)
    top = origin_y + cells[:, :, 0] * pitch + shift[:, :, 0]
    left = origin_x + cells[:, :, 1] * pitch + shift[:, :, 1]
    return crop_patches(images, top, left, patch_size), labels


def rotate_patch_sets(patches, rotations):
    """Rotate all patches of example b counter-clockwise by `rotations[b]` * 90.

    Mundhenk et al.'s rotation with classification turns every patch of a
    set by the same multiple of 90 degrees (`numpy.rot90` of each patch).

    Args:
        patches: (B, K, p, p, C) square patches.
        rotations: int (B,) in 0..3.

    Example:

    >>> import numpy as np
    >>> patches = np.arange(4, dtype="float32").reshape(1, 1, 2, 2, 1)
    >>> out = np.asarray(rotate_patch_sets(patches, [1]))[0, 0, :, :, 0]
    >>> bool((out == np.rot90(patches[0, 0, :, :, 0])).all())
    True
    """
    shape = tuple(patches.shape)
    if len(shape) != 5 or shape[2] != shape[3]:
        raise ValueError(
            "rotate_patch_sets expects square patches (B, K, p, p, C). "
            f"Received: shape={shape}"
        )
    flat = ops.reshape(patches, (-1,) + shape[2:])
    rotations = ops.cast(ops.convert_to_tensor(rotations), "int32")
    choice = ops.one_hot(ops.repeat(rotations, shape[1]), 4, dtype=patches.dtype)
    out = 0.0
    for k in range(4):
        out = out + rotate90(flat, k) * choice[:, k, None, None, None]
    return ops.reshape(out, ops.shape(patches))


def random_aperture(
    patches, min_fraction=2 / 3, fill=0.0, seed=None, return_mask=False
):
    """Mundhenk et al.'s random aperture: show each patch through a window.

    Per example one square window is drawn: side s uniform in
    [ceil(`min_fraction` * p), p] pixels, position uniform inside the patch
    (the authors' loader: s in [96 - 32, 96] for 96-pixel patches, so
    `min_fraction` 2/3). Every patch of the example but one (chosen at
    random, left whole) keeps its pixels inside the window; outside, pixels
    become `fill` (the authors' mean grey; 0 is mid-grey for images in
    [-1, 1]).

    Args:
        patches: (B, K, p, p, C) patch sets.
        min_fraction: smallest window side as a fraction of the patch side,
            in (0, 1].
        fill: value outside the window.
        seed: int or `keras.random.SeedGenerator`.
        return_mask: also return the (B, K, p, p, 1) mask of kept pixels.

    Example:

    >>> import numpy as np
    >>> out, mask = random_aperture(np.ones((4, 2, 8, 8, 3), "float32"), seed=0,
    ...                             return_mask=True)
    >>> bool((np.asarray(mask).reshape(4, 2, -1).min(-1) == 1).sum(1).min() >= 1)
    True
    """
    if not isinstance(min_fraction, int | float) or not 0 < min_fraction <= 1:
        raise ValueError(
            "min_fraction must be a number in (0, 1]. "
            f"Received: min_fraction={min_fraction!r}"
        )
    shape = tuple(patches.shape)
    if len(shape) != 5 or shape[2] != shape[3]:
        raise ValueError(
            "random_aperture expects square patches (B, K, p, p, C). "
            f"Received: shape={shape}"
        )
    count, size = shape[1], shape[2]
    lowest = min(size, max(1, math.ceil(round(min_fraction * size, 6))))
    batch = ops.shape(patches)[0]
    seeds = split_seed(seed, 2)
    draws = keras.random.uniform((batch, 4), seed=seeds[0])
    side = lowest + ops.cast(ops.floor(draws[:, 0] * (size - lowest + 1)), "int32")
    side = ops.minimum(side, size)
    room = ops.cast(size - side + 1, "float32")
    top = ops.minimum(ops.cast(ops.floor(draws[:, 1] * room), "int32"), size - side)
    left = ops.minimum(ops.cast(ops.floor(draws[:, 2] * room), "int32"), size - side)
    steps = ops.arange(size, dtype="int32")
    rows = (steps[None, :] >= top[:, None]) & (steps[None, :] < (top + side)[:, None])
    cols = (steps[None, :] >= left[:, None]) & (steps[None, :] < (left + side)[:, None])
    window = ops.cast(rows[:, :, None] & cols[:, None, :], patches.dtype)
    whole = ops.minimum(ops.cast(ops.floor(draws[:, 3] * count), "int32"), count - 1)
    keep = ops.one_hot(whole, count, dtype=patches.dtype)
    mask = ops.maximum(window[:, None, :, :, None], keep[:, :, None, None, None])
    out = patches * mask + fill * (1.0 - mask)
    if return_mask:
        return out, ops.broadcast_to(mask, ops.shape(out)[:-1] + (1,))
    return out
