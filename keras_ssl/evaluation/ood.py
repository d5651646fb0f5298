"""Out-of-distribution detection: AUROC of anomaly scores.

Hendrycks et al., "Using Self-Supervised Learning Can Improve Model
Robustness and Uncertainty", NeurIPS 2019, score each image (e.g. by the
classification and rotation-prediction losses) and report the AUROC of
telling out-of-distribution images from in-distribution ones. Convention
here: a HIGHER score means MORE anomalous ("out"); an AUROC of 1 means every
out-of-distribution image scores above every in-distribution one, 0.5 is
chance.
"""

import keras
import numpy as np
from scipy import stats

from keras_ssl.evaluation._sources import image_batches


def _scores(values, name):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of scores. Received: shape "
            f"{array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} must be finite. Received: {name} containing NaN or Inf"
        )
    return array


def auroc(scores_in, scores_out):
    """Area under the ROC curve for detecting "out" by a higher score.

    Computed by the rank (Mann-Whitney U) formula: with ranks of all scores
    pooled (ties get their average rank), `AUROC = (R_out - n_out (n_out + 1)
    / 2) / (n_in n_out)`, i.e. P(score_out > score_in) + P(tie) / 2.

    Args:
        scores_in: scores of in-distribution examples, shape (n_in,).
        scores_out: scores of out-of-distribution examples, shape (n_out,).

    Returns:
        AUROC in [0, 1] as a Python float.

    Example:

    >>> auroc([0.1, 0.2, 0.3], [0.25, 0.9])
    0.8333333333333334
    """
    scores_in = _scores(scores_in, "scores_in")
    scores_out = _scores(scores_out, "scores_out")
    ranks = stats.rankdata(np.concatenate([scores_in, scores_out]))
    n_in, n_out = scores_in.size, scores_out.size
    rank_sum = ranks[n_in:].sum()
    return float((rank_sum - n_out * (n_out + 1) / 2) / (n_in * n_out))


def _score_all(model_score_fn, data, name, num_samples, batch_size):
    _, batches = image_batches(data, name, num_samples, batch_size)
    parts = []
    for images in batches:
        scores = keras.ops.convert_to_numpy(model_score_fn(images))
        if np.ndim(scores) == 2 and np.shape(scores)[1] == 1:
            scores = np.reshape(scores, (-1,))
        if np.shape(scores) != (images.shape[0],):
            raise ValueError(
                f"model_score_fn must return one score per image, shape "
                f"({images.shape[0]},). Received: shape {np.shape(scores)}"
            )
        parts.append(np.asarray(scores, dtype=np.float64))
    return np.concatenate(parts)


def ood_auroc(model_score_fn, in_data, out_data, num_samples=None, batch_size=100):
    """AUROC of `model_score_fn` separating `out_data` from `in_data`.

    Args:
        model_score_fn: callable mapping float32 images (B, H, W, C) in
            [-1, 1] to anomaly scores (B,); higher means more anomalous.
        in_data: in-distribution images: array (uint8 [0, 255] or float
            [-1, 1]) or dataset of images or (images, labels).
        out_data: out-of-distribution images, same forms.
        num_samples: images used from each set (None: all).
        batch_size: images per call of `model_score_fn`.

    Returns:
        AUROC in [0, 1].

    Example:

    >>> import numpy as np
    >>> score = lambda x: x.mean(axis=(1, 2, 3))
    >>> ood_auroc(score, np.zeros((4, 2, 2, 3)), np.ones((4, 2, 2, 3)) * 0.5)
    1.0
    """
    if not callable(model_score_fn):
        raise TypeError(
            "model_score_fn must be callable. Received: "
            f"{type(model_score_fn).__name__}"
        )
    scores_in = _score_all(model_score_fn, in_data, "in_data", num_samples, batch_size)
    scores_out = _score_all(
        model_score_fn, out_data, "out_data", num_samples, batch_size
    )
    return auroc(scores_in, scores_out)
