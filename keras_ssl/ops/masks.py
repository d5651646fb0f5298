"""Inpainting masks: which pixels a context encoder must fill in.

Reference: Pathak, Krahenbuhl, Donahue, Darrell & Efros, "Context Encoders:
Feature Learning by Inpainting", CVPR 2016 (section 3.3). Every function
returns float32 masks (B, H, W, 1) with 1 where a pixel is removed and 0
where it is kept:

- `central_square_mask`: one square in the centre, half the side of the
  image by default (a quarter of its area), the paper's "central region";
- `random_square_masks`: several smaller squares at random positions,
  possibly overlapping (the paper's "random block"); the default of four
  squares of a quarter of the side covers at most 25%;
- `random_region_masks`: arbitrary shapes (the paper's "random region"):
  smooth noise (uniform noise on a coarse grid, bilinearly up-sampled)
  thresholded per image at the quantile that removes a fraction drawn
  uniformly from `coverage` (20-30% by default). The paper thresholds
  PASCAL segmentation masks; smooth noise gives blobs of the same kind
  without a data set.

`dilate_mask` grows a mask by a border, as the context encoder's loss
weighs an overlap border around the hole. `make_masks` draws masks by
kind name (`MASK_KINDS`).
"""

import numbers

import keras
from keras import ops

from keras_ssl.utils.validation import check_choice, check_int, check_number

MASK_KINDS = ("center", "squares", "regions")


def _batch_size(batch_size):
    # Inside a train step the batch size may be a tensor (unknown until run).
    if isinstance(batch_size, numbers.Integral) or not hasattr(batch_size, "dtype"):
        return check_int(batch_size, "batch_size", minimum=0)
    return batch_size


def _image_size(image_size):
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    image_size = tuple(image_size)
    if len(image_size) != 2:
        raise ValueError(
            "image_size must be an int or a (height, width) pair. "
            f"Received: image_size={image_size}"
        )
    return tuple(check_int(v, "image_size", minimum=2) for v in image_size)


def central_square_mask(batch_size, image_size, mask_size=None):
    """Masks (B, H, W, 1) removing the central `mask_size` x `mask_size` square.

    Args:
        batch_size: number of masks B.
        image_size: int or (height, width).
        mask_size: side of the square; defaults to half the shorter side
            (a quarter of the area of a square image, as in the paper).

    Example:

    >>> mask = central_square_mask(1, 8)
    >>> float(mask.numpy().mean())
    0.25
    >>> mask.numpy()[0, :, :, 0].astype(int)[1]
    array([0, 0, 0, 0, 0, 0, 0, 0])
    """
    batch_size = _batch_size(batch_size)
    height, width = _image_size(image_size)
    if mask_size is None:
        mask_size = min(height, width) // 2
    mask_size = check_int(mask_size, "mask_size", maximum=min(height, width))
    top = (height - mask_size) // 2
    left = (width - mask_size) // 2
    rows = ops.logical_and(
        ops.arange(height) >= top, ops.arange(height) < top + mask_size
    )
    columns = ops.logical_and(
        ops.arange(width) >= left, ops.arange(width) < left + mask_size
    )
    square = ops.cast(ops.logical_and(rows[:, None], columns[None, :]), "float32")
    return ops.tile(square[None, :, :, None], (batch_size, 1, 1, 1))


def random_square_masks(
    batch_size, image_size, square_size=None, num_squares=4, seed=None
):
    """Masks (B, H, W, 1) of `num_squares` randomly placed squares each.

    Squares lie fully inside the image and may overlap, so the removed
    fraction is at most `num_squares * square_size^2 / (H W)`.

    Args:
        batch_size: number of masks B.
        image_size: int or (height, width).
        square_size: side of each square; defaults to a quarter of the
            shorter side (four squares cover at most a quarter).
        num_squares: squares per mask.
        seed: an int, None or a `keras.random.SeedGenerator`.

    Example:

    >>> mask = random_square_masks(2, 16, seed=0).numpy()
    >>> mask.shape, bool(0 < mask.mean() <= 0.25)
    ((2, 16, 16, 1), True)
    """
    batch_size = _batch_size(batch_size)
    height, width = _image_size(image_size)
    if square_size is None:
        square_size = max(1, min(height, width) // 4)
    square_size = check_int(square_size, "square_size", maximum=min(height, width))
    num_squares = check_int(num_squares, "num_squares")
    tops = keras.random.randint(
        (batch_size, num_squares), 0, height - square_size + 1, seed=seed
    )
    lefts = keras.random.randint(
        (batch_size, num_squares), 0, width - square_size + 1, seed=seed
    )
    rows = ops.arange(height)[None, None, :]
    columns = ops.arange(width)[None, None, :]
    inside_rows = ops.logical_and(
        rows >= tops[..., None], rows < tops[..., None] + square_size
    )
    inside_columns = ops.logical_and(
        columns >= lefts[..., None], columns < lefts[..., None] + square_size
    )
    squares = ops.logical_and(inside_rows[:, :, :, None], inside_columns[:, :, None, :])
    return ops.cast(ops.any(squares, axis=1), "float32")[..., None]


def random_region_masks(
    batch_size, image_size, coverage=(0.2, 0.3), grid_size=4, seed=None
):
    """Masks (B, H, W, 1) of smooth random regions covering `coverage` of each image.

    Uniform noise on a `grid_size` x `grid_size` grid is up-sampled
    bilinearly to the image size, and each image's noise is thresholded at
    its own quantile, so that a fraction c ~ U(coverage) of its pixels is
    removed (exactly round(c H W) pixels; ties go by position).

    Args:
        batch_size: number of masks B.
        image_size: int or (height, width).
        coverage: (low, high) range of the removed fraction, in (0, 1).
        grid_size: resolution of the noise; smaller gives fewer, larger blobs.
        seed: an int, None or a `keras.random.SeedGenerator`.

    Example:

    >>> covered = random_region_masks(4, 32, seed=0).numpy().mean(axis=(1, 2, 3))
    >>> bool(((covered >= 0.2 - 1e-3) & (covered <= 0.3 + 1e-3)).all())
    True
    """
    batch_size = _batch_size(batch_size)
    height, width = _image_size(image_size)
    grid_size = check_int(grid_size, "grid_size", minimum=2)
    if not isinstance(coverage, list | tuple) or len(coverage) != 2:
        raise ValueError(
            "coverage must be a (low, high) pair of fractions. "
            f"Received: coverage={coverage!r}"
        )
    low = check_number(coverage[0], "coverage[0]", minimum=0, exclusive_minimum=True)
    high = check_number(coverage[1], "coverage[1]", minimum=low, maximum=1.0)
    if high >= 1.0:
        raise ValueError(
            f"coverage must lie in (0, 1). Received: coverage={tuple(coverage)}"
        )
    noise = keras.random.uniform((batch_size, grid_size, grid_size, 1), seed=seed)
    smooth = ops.image.resize(
        noise, (height, width), interpolation="bilinear", antialias=False
    )
    fractions = keras.random.uniform((batch_size,), low, high, seed=seed)
    flat = ops.reshape(smooth, (batch_size, height * width))
    count = ops.cast(ops.round(fractions * (height * width)), "int32")
    # Ranks rather than a threshold value: the up-sampled noise is constant
    # near the borders, and ties would remove more than `count` pixels.
    ranks = ops.argsort(ops.argsort(flat, axis=-1), axis=-1)
    mask = ops.cast(ranks >= height * width - count[:, None], "float32")
    return ops.reshape(mask, (batch_size, height, width, 1))


def dilate_mask(masks, border):
    """Masks grown by `border` pixels in every direction (a square dilation).

    Example:

    >>> mask = central_square_mask(1, 8, mask_size=2)
    >>> int(dilate_mask(mask, 1).numpy().sum())
    16
    """
    border = check_int(border, "border", minimum=0)
    masks = ops.convert_to_tensor(masks, "float32")
    if border == 0:
        return masks
    return ops.max_pool(masks, pool_size=2 * border + 1, strides=1, padding="same")


def make_masks(kind, batch_size, image_size, seed=None, **options):
    """Masks of `kind` ("center", "squares" or "regions"), (B, H, W, 1).

    `options` go to the function of that kind (`mask_size`; `square_size`,
    `num_squares`; `coverage`, `grid_size`).

    Example:

    >>> tuple(make_masks("regions", 2, 16, seed=1).shape)
    (2, 16, 16, 1)
    """
    check_choice(kind, "kind", MASK_KINDS)
    if kind == "center":
        return central_square_mask(batch_size, image_size, **options)
    if kind == "squares":
        return random_square_masks(batch_size, image_size, seed=seed, **options)
    return random_region_masks(batch_size, image_size, seed=seed, **options)
