import numpy as np
import pytest
from scipy import stats as scipy_stats

from keras_ssl.evaluation import (
    FeatureStatistics,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
)


def _random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _closed_form_fid(mu1, s1, mu2, s2):
    # Tr((S1 S2)^1/2) = sum of sqrt of the eigenvalues of S1^1/2 S2 S1^1/2,
    # computed by symmetric eigendecompositions only (no sqrtm).
    w, v = np.linalg.eigh(s1)
    root = v @ np.diag(np.sqrt(w)) @ v.T
    eig = np.linalg.eigvalsh(root @ s2 @ root)
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum()


def test_fid_of_gaussians_equals_the_closed_form():
    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    expected = _closed_form_fid(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # One dimension: (m1 - m2)^2 + (sd1 - sd2)^2.
    m1, m2, sd1, sd2 = rng.normal(size=4)
    value = frechet_distance([m1], [[sd1**2]], [m2], [[sd2**2]])
    assert value == pytest.approx((m1 - m2) ** 2 + (abs(sd1) - abs(sd2)) ** 2)


def test_fid_of_samples_approaches_the_population_value():
    rng = np.random.default_rng(0)
    d = 4
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    x = rng.multivariate_normal(mu1, s1, size=40000)
    y = rng.multivariate_normal(mu2, s2, size=40000)
    a, b = FeatureStatistics().update(x), FeatureStatistics().update(y)
    value = frechet_distance(a.mean, a.covariance, b.mean, b.covariance)
    # The sample estimate's noise grows with the distance itself (the random
    # covariances make it anywhere from a few units to tens): 1 % relative.
    expected = _closed_form_fid(mu1, s1, mu2, s2)
    assert value == pytest.approx(expected, rel=0.01, abs=0.1)


def test_fid_with_itself_is_zero_and_fid_is_symmetric():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8))
    y = rng.normal(size=(250, 8)) * 1.5 + 0.3
    mx, sx = x.mean(0), np.cov(x, rowvar=False)
    my, sy = y.mean(0), np.cov(y, rowvar=False)
    assert abs(frechet_distance(mx, sx, mx, sx)) < 1e-8
    forward = frechet_distance(mx, sx, my, sy)
    assert forward > 0.5
    assert forward == pytest.approx(frechet_distance(my, sy, mx, sx), rel=1e-8)


def test_fid_of_singular_covariances_is_finite():
    rng = np.random.default_rng(0)
    # Fewer samples than dimensions: rank-deficient covariances.
    x, y = rng.normal(size=(10, 30)), rng.normal(size=(10, 30))
    value = frechet_distance(
        x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    )
    assert np.isfinite(value) and value > 0


def test_fid_errors():
    with pytest.raises(ValueError, match="same feature dimension.*\\(3,\\).*\\(4,\\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="sigma2 must be a square matrix"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="mu1 must be finite"):
        frechet_distance(np.array([np.nan, 0]), np.eye(2), np.zeros(2), np.eye(2))
    # Not a covariance: the square root of the product is clearly imaginary.
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), np.diag([1.0, -4.0]), np.zeros(2), np.eye(2))


def test_inception_score_is_one_for_identical_predictions():
    rng = np.random.default_rng(0)
    row = rng.dirichlet(np.ones(7))
    mean, std = inception_score(np.tile(row, (50, 1)), splits=5)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_is_k_for_k_confident_equally_used_classes():
    rng = np.random.default_rng(0)
    k = int(rng.integers(2, 20))
    splits = 4
    labels = np.concatenate(
        [rng.permutation(np.arange(3 * k) % k) for _ in range(splits)]
    )
    mean, std = inception_score(np.eye(k)[labels], splits=splits)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_matches_scipy_entropy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5) * 0.3, size=200)
    expected = []
    for part in np.array_split(p, 4):
        kl = scipy_stats.entropy(part.T, part.mean(axis=0)[:, None])
        expected.append(np.exp(kl.mean()))
    mean, std = inception_score(p, splits=4)
    assert mean == pytest.approx(np.mean(expected))
    assert std == pytest.approx(np.std(expected))
    assert 1.0 <= mean <= 5.0


def test_inception_score_errors():
    with pytest.raises(ValueError, match="summing to 1"):
        inception_score(np.ones((10, 3)))
    with pytest.raises(
        ValueError, match=r"splits must be an int in \[1, 3\].*splits=10"
    ):
        inception_score(np.eye(3))


def _brute_force_mmd2(x, y):
    def k(a, b):
        return (a @ b / x.shape[1] + 1) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def test_kid_equals_the_unbiased_mmd_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 3)), rng.normal(size=(25, 3)) + 0.5
    # One subset of all rows: a permutation, which leaves the MMD unchanged.
    mean, std = kernel_inception_distance(x, y, num_subsets=1, subset_size=25)
    assert mean == pytest.approx(_brute_force_mmd2(x, y), rel=1e-10)
    assert std == 0.0


def test_kid_is_zero_for_one_distribution_and_positive_for_shifted():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    mean, std = kernel_inception_distance(a, b, num_subsets=25, subset_size=500)
    assert abs(mean) < std
    shifted = b + 0.5
    mean, std = kernel_inception_distance(a, shifted, num_subsets=25, subset_size=500)
    assert mean > 10 * std


def test_kid_errors():
    a = np.zeros((10, 4))
    with pytest.raises(ValueError, match="feature dimension 4.*\\(10, 5\\)"):
        kernel_inception_distance(a, np.zeros((10, 5)))
    with pytest.raises(
        ValueError, match=r"subset_size must be an int in \[2, 10\].*subset_size=1000"
    ):
        kernel_inception_distance(a, a)
    bad = np.zeros((10, 4))
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="features_b must be finite"):
        kernel_inception_distance(a, bad, subset_size=5)
