"""Colour spaces and colour quantisation for colorization, in `keras.ops`.

- `rgb_to_lab` / `lab_to_rgb`: sRGB (IEC 61966-2-1 transfer curve) <-> CIE
  L*a*b* under the D65 white, L in [0, 100].
- `ab_bins`: the cells of a square grid over the ab plane that sRGB colours
  occupy (Zhang et al. 2016 quantise ab on a grid of 10).
- `soft_encode_ab`, `annealed_mean`, `rebalancing_weights`,
  `estimate_ab_prior`: the target encoding, the decoding and the class
  rebalancing of Zhang, Isola & Efros, "Colorful Image Colorization",
  ECCV 2016.
- `hue_chroma_histograms`: the hue and chroma targets of Larsson, Maire &
  Shakhnarovich, "Colorization as a Proxy Task for Visual Understanding",
  CVPR 2017 (histograms of a 7x7 neighbourhood per pixel).

Every function accepts a user bin table through `bins=` (an array (Q, 2) of
ab centres) where bins are used, e.g. the 313 centres carried by Zhang et
al.'s released network (see `keras_ssl.convert.colorization`).
"""

import functools
import math

import numpy as np
from keras import ops

# Linear sRGB -> XYZ (D65), IEC 61966-2-1.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype="float64",
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
# The white of the matrix itself (its row sums, the D65 white to 4 digits), so
# that sRGB white maps exactly to a = b = 0.
_WHITE = _RGB_TO_XYZ.sum(axis=1)
_DELTA = 6.0 / 29.0

# Larsson et al.'s histograms: 32 hue and 32 chroma bins.
HUE_BINS = 32
CHROMA_BINS = 32
# Chroma range of the chroma histogram: sRGB reaches C* ~ 134 (pure blue).
MAX_CHROMA = 135.0


def _check_last_axis(x, size, name):
    if x.shape[-1] is not None and x.shape[-1] != size:
        raise ValueError(
            f"{name} must have {size} channels in its last axis. "
            f"Received: {name}.shape={tuple(x.shape)}"
        )


def _srgb_to_linear(c):
    high = ops.power(ops.maximum((c + 0.055) / 1.055, 1e-12), 2.4)
    return ops.where(c <= 0.04045, c / 12.92, high)


def _linear_to_srgb(c):
    high = 1.055 * ops.power(ops.maximum(c, 1e-12), 1.0 / 2.4) - 0.055
    return ops.where(c <= 0.0031308, 12.92 * c, high)


def _lab_f(t):
    cube_root = ops.power(ops.maximum(t, 1e-12), 1.0 / 3.0)
    return ops.where(t > _DELTA**3, cube_root, t / (3 * _DELTA**2) + 4.0 / 29.0)


def _lab_f_inverse(f):
    return ops.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0))


def _matmul_last(x, matrix):
    return ops.matmul(x, ops.convert_to_tensor(matrix.T.astype("float32")))


def rgb_to_lab(rgb):
    """CIE Lab (D65) of sRGB colours.

    Args:
        rgb: float tensor (..., 3) in [0, 1] (sRGB, gamma-encoded).

    Returns:
        Tensor (..., 3): L in [0, 100], a and b roughly in [-128, 128].

    Example:

    >>> lab = rgb_to_lab(np.array([[1.0, 0.0, 0.0]], "float32"))
    >>> [round(float(v), 1) for v in lab[0]]
    [53.2, 80.1, 67.2]
    """
    rgb = ops.convert_to_tensor(rgb, "float32")
    _check_last_axis(rgb, 3, "rgb")
    xyz = _matmul_last(_srgb_to_linear(rgb), _RGB_TO_XYZ)
    f = _lab_f(xyz / ops.convert_to_tensor(_WHITE.astype("float32")))
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return ops.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], -1)


def lab_to_rgb(lab, clip=True):
    """sRGB colours of CIE Lab (D65) values; the inverse of `rgb_to_lab`.

    Args:
        lab: float tensor (..., 3), L in [0, 100].
        clip: clip to [0, 1] (Lab values outside the sRGB gamut give
            components outside it).

    Returns:
        Tensor (..., 3) of sRGB in [0, 1] (when clipped).

    Example:

    >>> rgb = lab_to_rgb(np.array([[100.0, 0.0, 0.0]], "float32"))
    >>> [round(float(v), 3) for v in rgb[0]]
    [1.0, 1.0, 1.0]
    """
    lab = ops.convert_to_tensor(lab, "float32")
    _check_last_axis(lab, 3, "lab")
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = _lab_f_inverse(ops.stack([fx, fy, fz], -1))
    xyz = xyz * ops.convert_to_tensor(_WHITE.astype("float32"))
    rgb = _linear_to_srgb(_matmul_last(xyz, _XYZ_TO_RGB))
    return ops.clip(rgb, 0.0, 1.0) if clip else rgb


def images_to_lab(images):
    """Lab of images in [-1, 1] (float) or [0, 255] (uint8)."""
    images = ops.convert_to_tensor(images)
    if images.dtype == "uint8":
        rgb = ops.cast(images, "float32") / 255.0
    else:
        rgb = (ops.cast(images, "float32") + 1.0) / 2.0
    return rgb_to_lab(ops.clip(rgb, 0.0, 1.0))


def lab_to_images(lab):
    """Images in [-1, 1] of Lab values (clipped to the sRGB gamut)."""
    return lab_to_rgb(lab) * 2.0 - 1.0


def greyscale(images):
    """Images in [-1, 1] with their own L and a = b = 0 (R = G = B)."""
    lab = images_to_lab(images)
    grey = ops.concatenate([lab[..., :1], ops.zeros_like(lab[..., 1:])], -1)
    return lab_to_images(grey)


def _srgb_gamut_samples(levels=256):
    """The 8-bit sRGB colours on the surface of the RGB cube, in [0, 1].

    The Lab image of the solid cube has the image of the cube's surface as
    its boundary, so the surface covers every ab point that any sRGB colour
    reaches (the projection onto ab of a solid is that of its boundary).
    """
    values = np.arange(levels, dtype="float32") / (levels - 1)
    u, v = np.meshgrid(values, values, indexing="ij")
    u, v = u.ravel(), v.ravel()
    faces = []
    for axis in range(3):
        for level in (0.0, 1.0):
            face = np.empty((u.size, 3), "float32")
            others = [k for k in range(3) if k != axis]
            face[:, axis] = level
            face[:, others[0]] = u
            face[:, others[1]] = v
            faces.append(face)
    return np.concatenate(faces)


@functools.lru_cache(maxsize=8)
def _gamut_bins(grid_size):
    ab = ops.convert_to_numpy(rgb_to_lab(_srgb_gamut_samples()))[:, 1:]
    cells = np.unique(np.round(ab / grid_size).astype("int64"), axis=0)
    # Sorted by a, then b, as an ab table is conventionally listed.
    order = np.lexsort((cells[:, 1], cells[:, 0]))
    return (cells[order] * grid_size).astype("float32")


def ab_bins(grid_size=10):
    """The ab bin centres that sRGB colours occupy, on a square grid.

    Derived here from the gamut: every 8-bit colour on the surface of the
    sRGB cube (which covers the ab projection of the whole gamut) is
    converted to Lab, its ab is rounded to the nearest multiple of
    `grid_size`, and the distinct cells are the bins. So every sRGB colour
    lies inside a bin's cell (within `grid_size / 2` of its centre in a and
    in b). With `grid_size=10` this gives 261 bins, a in [-90, 100] and b in
    [-110, 90]. Zhang et al.'s released table has 313 bins on the same grid
    (a in [-90, 100], b in [-110, 100]); it is not reproduced by a rule on
    the sRGB gamut and holds about 50 more cells at the edges of the gamut
    (see docs/colorization.md). Pass such a table as `bins=` to the
    functions and methods that take one.

    Args:
        grid_size: the side of a cell in Lab units.

    Returns:
        float32 numpy array (Q, 2) of ab centres, sorted by a then b.

    Example:

    >>> ab_bins(10).shape
    (261, 2)
    """
    if isinstance(grid_size, bool) or not isinstance(grid_size, int | float):
        raise ValueError(
            f"grid_size must be a positive number. Received: grid_size={grid_size!r}"
        )
    if not 1 <= grid_size <= 100:
        raise ValueError(
            f"grid_size must be in [1, 100]. Received: grid_size={grid_size!r}"
        )
    return _gamut_bins(float(grid_size)).copy()


def check_bins(bins, name="bins"):
    """A bin table (Q, 2): `ab_bins(10)` for None, numpy for arrays and lists.

    Tensors and variables (a model's bin table) are returned as tensors, so
    that functions using them run inside compiled train steps.
    """
    if bins is None:
        return ab_bins(10)
    if isinstance(bins, np.ndarray | list | tuple):
        array = np.asarray(bins, dtype="float32")
    else:
        array = ops.convert_to_tensor(bins, "float32")
    shape = tuple(array.shape)
    if len(shape) != 2 or shape[1] != 2 or (shape[0] is not None and shape[0] < 2):
        raise ValueError(
            f"{name} must be an array (Q, 2) of ab centres with Q >= 2. "
            f"Received: {name}.shape={shape}"
        )
    return array


def _squared_distances(ab, bins):
    ab = ops.convert_to_tensor(ab, "float32")
    bins = ops.convert_to_tensor(bins, "float32")
    difference = ops.expand_dims(ab, -2) - bins
    return ops.sum(ops.square(difference), axis=-1)


def nearest_bin(ab, bins):
    """Index (...,) of the bin centre nearest to each ab value (..., 2)."""
    return ops.argmin(_squared_distances(ab, bins), axis=-1)


def soft_encode_ab(ab, bins, sigma=5.0, neighbours=5):
    """Zhang et al.'s soft encoding of ab values over the bins.

    Each ab value gets weight `exp(-d^2 / (2 sigma^2))` on each of its
    `neighbours` nearest bin centres (d the distance to the centre) and 0 on
    the others, normalised to sum to 1. The paper uses 5 neighbours; its
    released training code used 10.

    Args:
        ab: tensor (..., 2) of ab values.
        bins: array (Q, 2) of bin centres (`ab_bins()` or a user table).
        sigma: the Gaussian's standard deviation, Lab units.
        neighbours: how many nearest bins share the weight.

    Returns:
        Tensor (..., Q) summing to 1 over the last axis.

    Example:

    >>> target = soft_encode_ab(np.zeros((1, 2), "float32"), ab_bins())
    >>> round(float(ops.sum(target)), 4)
    1.0
    """
    bins = check_bins(bins)
    if isinstance(neighbours, bool) or not isinstance(neighbours, int):
        raise ValueError(
            f"neighbours must be an int >= 1. Received: neighbours={neighbours!r}"
        )
    if not 1 <= neighbours <= bins.shape[0]:
        raise ValueError(
            f"neighbours must be in [1, {bins.shape[0]}] (the number of bins). "
            f"Received: neighbours={neighbours}"
        )
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0. Received: sigma={sigma!r}")
    distances = _squared_distances(ab, bins)
    kth = -ops.top_k(-distances, neighbours, sorted=True)[0][..., -1:]
    # Relative to the nearest bin, so that far-away values do not underflow.
    nearest = ops.min(distances, axis=-1, keepdims=True)
    weights = ops.exp(-(distances - nearest) / (2.0 * sigma**2))
    weights = ops.where(distances <= kth, weights, 0.0)
    return weights / ops.sum(weights, axis=-1, keepdims=True)


def annealed_mean(logits, bins, temperature=0.38):
    """Zhang et al.'s annealed mean of a distribution over ab bins.

    `H(Z) = E[f_T(Z)]` with `f_T(z) = exp(log z / T) / sum exp(log z / T)`:
    for `z = softmax(logits)` this is `softmax(logits / T)`. T = 1 gives the
    mean of the distribution, T -> 0 its mode; the paper uses 0.38.

    Args:
        logits: tensor (..., Q) of unnormalised log-probabilities.
        bins: array (Q, 2) of bin centres.
        temperature: T > 0.

    Returns:
        Tensor (..., 2) of ab values.

    Example:

    >>> bins = np.array([[0.0, 0.0], [10.0, 0.0]], "float32")
    >>> ab = annealed_mean(np.array([[0.0, 0.0]], "float32"), bins, 1.0)
    >>> [float(v) for v in ab[0]]
    [5.0, 0.0]
    """
    bins = check_bins(bins)
    if not temperature > 0:
        raise ValueError(
            f"temperature must be > 0. Received: temperature={temperature!r}"
        )
    logits = ops.convert_to_tensor(logits, "float32")
    if logits.shape[-1] is not None and logits.shape[-1] != bins.shape[0]:
        raise ValueError(
            f"logits must have one entry per bin ({bins.shape[0]}) in the last axis. "
            f"Received: logits.shape={tuple(logits.shape)}"
        )
    probabilities = ops.softmax(logits / temperature, axis=-1)
    return ops.matmul(probabilities, ops.convert_to_tensor(bins))


def rebalancing_weights(prior, mix=0.5):
    """Zhang et al.'s class-rebalancing weights of the ab bins.

    `w ∝ ((1 - mix) p + mix / Q)^-1`, normalised so that `sum_q p_q w_q = 1`
    (the expected weight of a pixel drawn from the prior is 1). Rare colours
    get larger weights; `mix = 1` gives uniform weights.

    Args:
        prior: tensor (Q,) of bin probabilities (e.g. `estimate_ab_prior`).
        mix: the weight of the uniform distribution, lambda in the paper.

    Returns:
        Tensor (Q,).

    Example:

    >>> w = rebalancing_weights(np.array([0.9, 0.1], "float32"))
    >>> round(float(0.9 * w[0] + 0.1 * w[1]), 5)
    1.0
    """
    if isinstance(mix, bool) or not isinstance(mix, int | float) or not 0 <= mix <= 1:
        raise ValueError(f"mix must be a number in [0, 1]. Received: mix={mix!r}")
    prior = ops.convert_to_tensor(prior, "float32")
    prior = prior / ops.sum(prior)
    count = ops.cast(ops.shape(prior)[-1], "float32")
    weights = 1.0 / ((1.0 - mix) * prior + mix / count)
    return weights / ops.sum(prior * weights)


def estimate_ab_prior(data, bins=None, sigma=5.0, max_batches=None):
    """The empirical distribution of ab bins over a dataset's pixels.

    Every pixel's ab is assigned to its nearest bin; the counts are
    normalised, smoothed over the bins with a Gaussian kernel of standard
    deviation `sigma` (Lab units; Zhang et al. smooth with sigma 5) and
    normalised again. The result feeds `rebalancing_weights` and the
    `prior=` of `keras_ssl.methods.Colorization`.

    Args:
        data: images (N, H, W, 3), uint8 in [0, 255] or float in [-1, 1];
            or an iterable of such batches, or of `(images, labels)` tuples
            (e.g. a `keras_ssl.data.load` dataset).
        bins: array (Q, 2) of bin centres; default `ab_bins(10)`.
        sigma: smoothing over the bins (0 for none).
        max_batches: stop after this many batches of an iterable.

    Returns:
        float32 numpy array (Q,) summing to 1.

    Example:

    >>> images = np.full((2, 4, 4, 3), 128, "uint8")
    >>> prior = estimate_ab_prior(images, sigma=0)
    >>> int(np.argmax(prior)) == int(nearest_bin(np.zeros((2,), "float32"), ab_bins()))
    True
    """
    bins = np.asarray(ops.convert_to_numpy(check_bins(bins)), "float32")
    if isinstance(data, np.ndarray) or hasattr(data, "shape"):
        batches = [data]
    else:
        batches = data
    counts = np.zeros(len(bins), "float64")
    for index, batch in enumerate(batches):
        if max_batches is not None and index >= max_batches:
            break
        if isinstance(batch, dict):
            batch = batch["images"]
        elif isinstance(batch, list | tuple):
            batch = batch[0]
        ab = images_to_lab(batch)[..., 1:]
        nearest = ops.convert_to_numpy(nearest_bin(ops.reshape(ab, (-1, 2)), bins))
        counts += np.bincount(nearest, minlength=len(bins))
    if counts.sum() == 0:
        raise ValueError("estimate_ab_prior received no images. Received: data empty")
    prior = counts / counts.sum()
    if sigma:
        distances = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
        prior = np.exp(-distances / (2.0 * sigma**2)) @ prior
        prior /= prior.sum()
    return prior.astype("float32")


def _neighbourhood_mean(x, size):
    """Mean over a size x size window per pixel, ignoring the border padding."""
    return ops.average_pool(x, size, strides=1, padding="same")


def hue_chroma(lab):
    """Hue in [0, 1) (fraction of a turn) and chroma of Lab values (..., 3)."""
    a, b = lab[..., 1], lab[..., 2]
    chroma = ops.sqrt(ops.square(a) + ops.square(b) + 1e-12)
    hue = ops.arctan2(b, a) / (2.0 * math.pi)
    return ops.mod(hue + 1.0, 1.0), chroma


def hue_chroma_histograms(
    lab, hue_bins=HUE_BINS, chroma_bins=CHROMA_BINS, window=7, max_chroma=MAX_CHROMA
):
    """Larsson et al.'s per-pixel hue and chroma histograms.

    Hue and chroma are the polar coordinates of (a, b) (LCh: chroma
    `sqrt(a^2 + b^2)`, hue its angle). Each pixel votes for its hue bin
    (of `hue_bins` over the full turn) and its chroma bin (of `chroma_bins`
    over [0, max_chroma]); each pixel's histograms are the votes of the
    `window` x `window` neighbourhood around it (the image border counts
    only pixels inside the image).

    Args:
        lab: tensor (B, H, W, 3) of Lab images.
        hue_bins, chroma_bins: histogram sizes (32 each in the paper).
        window: neighbourhood side (7 in the paper).
        max_chroma: chroma of the last bin's upper edge.

    Returns:
        `(hue_histogram, chroma_histogram, chroma)`: tensors (B, H, W,
        hue_bins) and (B, H, W, chroma_bins), each summing to 1 per pixel,
        and the neighbourhood's mean chroma (B, H, W, 1) divided by
        `max_chroma`, the weight of the hue term in Larsson et al.'s loss.

    Example:

    >>> lab = rgb_to_lab(np.random.default_rng(0).uniform(size=(1, 8, 8, 3)))
    >>> hue, chroma, weight = hue_chroma_histograms(lab)
    >>> tuple(hue.shape), tuple(chroma.shape), tuple(weight.shape)
    ((1, 8, 8, 32), (1, 8, 8, 32), (1, 8, 8, 1))
    """
    lab = ops.convert_to_tensor(lab, "float32")
    if len(lab.shape) != 4:
        raise ValueError(
            f"lab must be a tensor (B, H, W, 3). Received: lab.shape={lab.shape}"
        )
    _check_last_axis(lab, 3, "lab")
    hue, chroma = hue_chroma(lab)
    hue_index = ops.cast(ops.floor(hue * hue_bins), "int32") % hue_bins
    chroma_index = ops.cast(ops.floor(chroma / max_chroma * chroma_bins), "int32")
    chroma_index = ops.clip(chroma_index, 0, chroma_bins - 1)
    hue_histogram = _neighbourhood_mean(ops.one_hot(hue_index, hue_bins), window)
    chroma_histogram = _neighbourhood_mean(
        ops.one_hot(chroma_index, chroma_bins), window
    )
    weight = _neighbourhood_mean(
        ops.expand_dims(ops.minimum(chroma / max_chroma, 1.0), -1), window
    )
    return hue_histogram, chroma_histogram, weight


def hue_chroma_decode(
    hue_logits, chroma_logits, max_chroma=MAX_CHROMA, temperature=1.0
):
    """ab of predicted hue and chroma distributions (for display).

    Chroma is the (annealed) mean of its distribution; hue the circular mean
    of its distribution (the angle of the mean unit vector), as Larsson et
    al. decode hue.
    """
    hue_bins = hue_logits.shape[-1]
    chroma_bins = chroma_logits.shape[-1]
    chroma_centres = (np.arange(chroma_bins, dtype="float32") + 0.5) / chroma_bins
    chroma = ops.sum(
        ops.softmax(chroma_logits / temperature, -1) * chroma_centres * max_chroma,
        axis=-1,
    )
    angles = (np.arange(hue_bins, dtype="float32") + 0.5) / hue_bins * 2 * math.pi
    p = ops.softmax(hue_logits / temperature, -1)
    cos = ops.sum(p * np.cos(angles).astype("float32"), -1)
    sin = ops.sum(p * np.sin(angles).astype("float32"), -1)
    angle = ops.arctan2(sin, cos)
    return ops.stack([chroma * ops.cos(angle), chroma * ops.sin(angle)], -1)
