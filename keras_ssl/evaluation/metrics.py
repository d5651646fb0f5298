"""Closed-form sample metrics: Frechet distance, Inception Score, KID.

These take features or class probabilities that are already computed; see
`keras_ssl.evaluation.fid` and friends for the versions that run an
extractor over images.
"""

import numpy as np
from scipy import linalg

from keras_ssl.evaluation.feature_statistics import check_features
from keras_ssl.utils.validation import check_int


def _check_moments(mu, sigma, index):
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1:
        raise ValueError(
            f"mu{index} must be a vector. Received: mu{index} with shape {mu.shape}"
        )
    if sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"sigma{index} must be a square matrix matching mu{index}, shape "
            f"{(mu.shape[0], mu.shape[0])}. Received: sigma{index} with shape "
            f"{sigma.shape}"
        )
    for name, value in ((f"mu{index}", mu), (f"sigma{index}", sigma)):
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"{name} must be finite. Received: {name} containing NaN or Inf"
            )
    return mu, sigma


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Frechet distance between two Gaussians, in float64.

    `d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))`,
    the FID of Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
    Converge to a Local Nash Equilibrium", NeurIPS 2017, when the moments are
    those of Inception pool features. The matrix square root is SciPy's, with
    the handling of the reference implementations: if the product is
    singular (the square root is not finite) `eps` is added to both
    diagonals; a small imaginary part from round-off is dropped, a large one
    is an error.

    Args:
        mu1: mean of the first set, shape (D,).
        sigma1: covariance of the first set, shape (D, D).
        mu2: mean of the second set, shape (D,).
        sigma2: covariance of the second set, shape (D, D).
        eps: diagonal offset used only when the product is singular.

    Returns:
        The squared distance, a Python float.

    Example:

    >>> import numpy as np
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
    2.0
    """
    mu1, sigma1 = _check_moments(mu1, sigma1, 1)
    mu2, sigma2 = _check_moments(mu2, sigma2, 2)
    if mu1.shape != mu2.shape:
        raise ValueError(
            "mu1 and mu2 must have the same feature dimension. Received: "
            f"mu1 with shape {mu1.shape} and mu2 with shape {mu2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        largest = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if largest > 1e-3:
            raise ValueError(
                "The square root of sigma1 @ sigma2 has a large imaginary "
                "part, so the covariances are not valid (symmetric positive "
                "semi-definite) or are too ill-conditioned; use more samples "
                f"than feature dimensions. Received: max |imag| = {largest:.3g}"
            )
        covmean = covmean.real
    return float(
        diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    )


def inception_score(probabilities, splits=10):
    """Inception Score of class probabilities, `exp(E_x KL(p(y|x) || p(y)))`.

    Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016.
    As in their code, the samples are cut into `splits` consecutive chunks,
    the score is computed per chunk, and the mean and standard deviation over
    chunks are returned.

    Args:
        probabilities: (N, K) rows of class probabilities (non-negative,
            summing to 1).
        splits: number of chunks; N must be at least `splits`.

    Returns:
        (mean, std) as Python floats. The score lies in [1, K].

    Example:

    >>> import numpy as np
    >>> inception_score(np.eye(4)[np.arange(8) % 4], splits=2)
    (4.0, 0.0)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(
            "probabilities must be a 2-D array (num_samples, num_classes). "
            f"Received: probabilities with shape {p.shape}"
        )
    if not np.all(np.isfinite(p)):
        raise ValueError(
            "probabilities must be finite. Received: probabilities containing "
            "NaN or Inf"
        )
    sums = p.sum(axis=1)
    if np.any(p < 0) or not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(
            "probabilities must be non-negative rows summing to 1 (apply a "
            "softmax to logits). Received: row sums between "
            f"{sums.min():.4g} and {sums.max():.4g}, minimum {p.min():.4g}"
        )
    splits = check_int(
        splits, "splits", 1, p.shape[0], context="(at most one split per sample)"
    )
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        # 0 * log 0 is taken as 0: a confident one-hot row is a valid input.
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0)
        scores.append(np.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _polynomial_mmd2(x, y):
    d = x.shape[1]
    m = x.shape[0]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    off_diagonal = m * (m - 1)
    return (
        (k_xx.sum() - np.trace(k_xx)) / off_diagonal
        + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
        - 2.0 * k_xy.mean()
    )


def kernel_inception_distance(
    features_a, features_b, num_subsets=100, subset_size=1000, seed=None
):
    """Kernel Inception Distance: unbiased MMD^2, cubic polynomial kernel.

    Binkowski et al., "Demystifying MMD GANs", ICLR 2018. The kernel is
    `k(x, y) = (x.y / d + 1)^3`; the unbiased estimate is averaged over
    `num_subsets` random subsets of `subset_size` rows of each set (drawn
    without replacement within a subset), as in their code.

    Args:
        features_a: (N, D) features.
        features_b: (M, D) features.
        num_subsets: number of random subsets.
        subset_size: rows per subset; at most min(N, M) and at least 2.
        seed: seed of the subset sampling (None: fresh randomness).

    Returns:
        (mean, std) of the MMD^2 estimates over subsets, Python floats. The
        mean is an unbiased estimate, so it can be slightly negative when
        both sets come from one distribution.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8)) + 1.0
    >>> kernel_inception_distance(a, b, num_subsets=10, subset_size=100)[0] > 0
    True
    """
    a = check_features(features_a, "features_a")
    b = check_features(features_b, "features_b", dim=a.shape[1])
    num_subsets = check_int(num_subsets, "num_subsets")
    largest = min(a.shape[0], b.shape[0])
    subset_size = check_int(
        subset_size,
        "subset_size",
        2,
        largest,
        context="(at most the size of the smaller feature set)",
    )
    rng = np.random.default_rng(seed)
    estimates = np.empty(num_subsets)
    for i in range(num_subsets):
        x = a[rng.choice(a.shape[0], subset_size, replace=False)]
        y = b[rng.choice(b.shape[0], subset_size, replace=False)]
        estimates[i] = _polynomial_mmd2(x, y)
    return float(estimates.mean()), float(estimates.std())
