"""Colorization losses, in `keras.ops`.

- `rebalanced_cross_entropy`: Zhang, Isola & Efros, "Colorful Image
  Colorization", ECCV 2016, eq. 2: the cross-entropy of predicted ab-bin
  distributions against soft-encoded targets, each pixel weighted by the
  rebalancing weight of its target's most likely bin.
- `ab_regression_loss`: the same paper's L2 baseline.
- `hue_chroma_kl_loss`: Larsson, Maire & Shakhnarovich, "Learning
  Representations for Automatic Colorization", ECCV 2016 and "Colorization as
  a Proxy Task for Visual Understanding", CVPR 2017: KL divergences of
  chroma and hue histograms, the hue term weighted by chroma.
"""

from keras import ops


def rebalanced_cross_entropy(targets, logits, weights=None):
    """Mean over pixels of `-v(Z) sum_q Z_q log softmax(logits)_q`.

    Args:
        targets: tensor (..., Q), soft-encoded target distributions.
        logits: tensor (..., Q) of predicted unnormalised log-probabilities.
        weights: tensor (Q,) of rebalancing weights
            (`keras_ssl.ops.rebalancing_weights`); `v(Z)` is the weight of the
            target's largest bin. None: every pixel weighs 1.

    Example:

    >>> import numpy as np
    >>> targets = np.array([[1.0, 0.0]], "float32")
    >>> round(float(rebalanced_cross_entropy(targets, np.zeros((1, 2)))), 4)
    0.6931
    """
    targets = ops.convert_to_tensor(targets, "float32")
    logits = ops.convert_to_tensor(logits, "float32")
    cross_entropy = -ops.sum(targets * ops.log_softmax(logits, axis=-1), axis=-1)
    if weights is not None:
        weights = ops.convert_to_tensor(weights, "float32")
        cross_entropy = cross_entropy * ops.take(weights, ops.argmax(targets, axis=-1))
    return ops.mean(cross_entropy)


def ab_regression_loss(ab_true, ab_pred):
    """Mean over pixels of the squared Euclidean distance of ab values.

    Example:

    >>> import numpy as np
    >>> float(ab_regression_loss(np.zeros((1, 2)), np.array([[3.0, 4.0]])))
    25.0
    """
    ab_true = ops.convert_to_tensor(ab_true, "float32")
    ab_pred = ops.convert_to_tensor(ab_pred, "float32")
    return ops.mean(ops.sum(ops.square(ab_pred - ab_true), axis=-1))


def _kl(target, logits):
    logits = ops.convert_to_tensor(logits, "float32")
    log_target = ops.log(ops.maximum(target, 1e-12))
    return ops.sum(target * (log_target - ops.log_softmax(logits, axis=-1)), -1)


def hue_chroma_kl_loss(
    hue_target, chroma_target, chroma_weight, hue_logits, chroma_logits, hue_weight=5.0
):
    """Larsson et al.'s histogram loss: `KL_C + lambda_H * c * KL_H`.

    The hue of a colourless pixel is undefined, so its KL term is weighted
    by the (normalised) chroma `c` of the target; `lambda_H = 5` in the
    papers.

    Args:
        hue_target, chroma_target: tensors (..., K) of target histograms.
        chroma_weight: tensor (..., 1) or (...,), the target chroma in [0, 1].
        hue_logits, chroma_logits: tensors (..., K) of predicted logits.
        hue_weight: lambda_H.

    Returns:
        The mean over pixels.

    Example:

    >>> import numpy as np
    >>> target = np.full((1, 4), 0.25, "float32")
    >>> loss = hue_chroma_kl_loss(target, target, np.ones((1, 1)),
    ...                           np.zeros((1, 4)), np.zeros((1, 4)))
    >>> round(float(loss), 6)
    0.0
    """
    chroma_weight = ops.convert_to_tensor(chroma_weight, "float32")
    hue_kl = _kl(ops.convert_to_tensor(hue_target, "float32"), hue_logits)
    if len(chroma_weight.shape) == len(hue_kl.shape) + 1:
        chroma_weight = ops.squeeze(chroma_weight, -1)
    chroma_kl = _kl(ops.convert_to_tensor(chroma_target, "float32"), chroma_logits)
    return ops.mean(chroma_kl + hue_weight * chroma_weight * hue_kl)
