"""Instance discrimination against memory-bank negatives (NPID).

Reference: Wu et al., "Unsupervised Feature Learning via Non-Parametric
Instance Discrimination", CVPR 2018. Each example is its own class; the class
"weight" of example i is the memory-bank row v_i, and with L2-normalised
features f the probability of instance i is

    P(i | f) = exp(f . v_i / t) / Z,    Z = sum_j exp(f . v_j / t).

Z runs over the whole dataset, so it is approximated with K negatives drawn
uniformly from the bank (4096 and t = 0.07 in the paper; 0.1 in its CIFAR
code). Two estimators:

- `"nce"` (the paper's): binary noise-contrastive estimation with noise
  P_n = 1 / n. h = P(i|f) / (P(i|f) + K P_n); the loss is
  -log h(positive) - sum_k log(1 - h(negative_k)). Z is estimated from the
  batch's negatives as n * mean(exp(f . v / t)) without gradient (the paper
  fixes it from the first batch; a per-batch estimate follows the bank as it
  changes).
- `"softmax"`: the sampled non-parametric softmax, cross-entropy of the
  positive among the positive and the K negatives (InfoNCE).
"""

import math

from keras import ops

NCE_KINDS = ("nce", "softmax")


def nce_loss(
    features,
    positives,
    negatives,
    temperature=0.07,
    num_examples=None,
    kind="nce",
):
    """Per-example instance-discrimination loss against memory-bank negatives.

    Args:
        features: (B, D) L2-normalised features of the batch.
        positives: (B, D) memory-bank rows of the batch's own examples.
        negatives: (B, K, D) memory-bank rows drawn as noise.
        temperature: softmax temperature t.
        num_examples: n, the size of the memory bank; required for
            `kind="nce"` (it sets the noise probability 1 / n).
        kind: `"nce"` (binary NCE, as in the paper) or `"softmax"` (sampled
            softmax over the positive and the negatives).

    Returns:
        (B,) loss per example.

    Example:

    >>> import numpy as np
    >>> f = np.eye(4, dtype="float32")[:2]
    >>> negatives = np.tile(np.eye(4, dtype="float32")[2:][None], (2, 1, 1))
    >>> loss = nce_loss(f, f, negatives, kind="softmax")
    >>> bool(np.all(np.asarray(loss) < 0.01))
    True
    """
    if kind not in NCE_KINDS:
        raise ValueError(f"kind must be one of {NCE_KINDS}. Received: kind={kind!r}")
    if not float(temperature) > 0.0:
        raise ValueError(
            f"temperature must be positive. Received: temperature={temperature!r}"
        )
    positive_logits = ops.sum(features * positives, axis=-1) / temperature
    negative_logits = ops.einsum("bd,bkd->bk", features, negatives) / temperature
    if kind == "softmax":
        logits = ops.concatenate(
            [ops.expand_dims(positive_logits, -1), negative_logits], axis=-1
        )
        return ops.logsumexp(logits, axis=-1) - positive_logits
    if num_examples is None or int(num_examples) < 1:
        raise ValueError(
            "nce_loss with kind='nce' needs num_examples, the memory-bank size. "
            f"Received: num_examples={num_examples!r}"
        )
    num_negatives = ops.cast(ops.shape(negatives)[1], "float32")
    # log Z = log n + log mean_k exp(s_k / t), a Monte-Carlo estimate of the
    # partition function; the gradient is stopped as in the paper, where Z is
    # a constant.
    log_z = math.log(float(num_examples)) + ops.stop_gradient(
        ops.logsumexp(negative_logits)
        - ops.log(ops.cast(ops.size(negative_logits), "float32"))
    )
    # log(K * P_n) with P_n = 1 / n.
    log_noise = ops.log(num_negatives) - math.log(float(num_examples))
    positive_term = ops.softplus(-(positive_logits - log_z - log_noise))
    negative_term = ops.sum(ops.softplus(negative_logits - log_z - log_noise), axis=-1)
    return positive_term + negative_term


def memory_bank_nce_loss(
    features, memory_bank, indices, negative_indices, temperature=0.07, kind="nce"
):
    """Mean `nce_loss` of features against their own rows and noise rows of a bank.

    The bank's rows are constants of the step (gradient stopped), as in Wu et
    al. 2018, where the bank is updated by momentum after the step.

    Args:
        features: (B, D) L2-normalised features of the batch.
        memory_bank: a `keras_ssl.layers.MemoryBank` (rows by index).
        indices: (B,) the batch's rows.
        negative_indices: (B, K) noise rows.
        temperature, kind: see `nce_loss`; `num_examples` is the bank's size.
    """
    positives = ops.stop_gradient(memory_bank(indices))
    negatives = ops.stop_gradient(memory_bank(negative_indices))
    return ops.mean(
        nce_loss(
            features,
            positives,
            negatives,
            temperature=temperature,
            num_examples=memory_bank.size,
            kind=kind,
        )
    )
