import numpy as np
import pytest

from keras_ssl.evaluation import FeatureStatistics


def _random_features(rng, n, d):
    # A large common offset checks the pairwise update's numerical stability.
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 1e4 * rng.normal(size=d)


def _in_random_batches(rng, x):
    cuts = np.sort(rng.choice(np.arange(1, len(x)), size=6, replace=False))
    return np.split(x, cuts)


def test_streaming_equals_numpy_on_the_whole_array():
    rng = np.random.default_rng(0)
    x = _random_features(rng, 500, 7)
    stats = FeatureStatistics()
    for batch in _in_random_batches(rng, x):
        stats.update(batch.astype(np.float32) if batch.shape[0] % 2 else batch)
    assert stats.count == 500
    stats_64 = FeatureStatistics()
    for batch in _in_random_batches(rng, x):
        stats_64.update(batch)
    np.testing.assert_allclose(stats_64.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        stats_64.covariance, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-8
    )
    assert stats_64.mean.dtype == np.float64
    assert stats_64.covariance.dtype == np.float64


def test_merge_equals_the_whole():
    rng = np.random.default_rng(0)
    x = _random_features(rng, 300, 5)
    a = FeatureStatistics().update(x[:71])
    b = FeatureStatistics()
    for batch in np.array_split(x[71:], 3):
        b.update(batch)
    merged = a.merge(b)
    assert merged.count == 300
    np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        merged.covariance, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-8
    )
    assert FeatureStatistics().merge(b).count == b.count


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6))
    stats = FeatureStatistics(keep_features=50)
    for batch in np.array_split(x, 7):
        stats.update(batch)
    path = tmp_path / "nested" / "reference.npz"
    stats.save(path)
    loaded = FeatureStatistics.load(path)
    assert loaded.count == 120
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)
    np.testing.assert_allclose(loaded.covariance, np.cov(x, rowvar=False), atol=1e-12)
    np.testing.assert_array_equal(loaded.features, stats.features)
    assert loaded.features.shape == (50, 6)
    assert not list(tmp_path.glob("**/*.tmp*"))
    # Statistics keep streaming after a load.
    loaded.update(x)
    np.testing.assert_allclose(
        loaded.covariance, np.cov(np.concatenate([x, x]), rowvar=False), atol=1e-12
    )


def test_kept_features_are_all_rows_until_the_cap():
    x = np.random.default_rng(0).normal(size=(40, 3))
    stats = FeatureStatistics(keep_features=40)
    for batch in np.array_split(x, 4):
        stats.update(batch)
    np.testing.assert_array_equal(stats.features, x)
    assert FeatureStatistics().update(x).features is None


def _assert_uniform_sample(kept, classes=10, per_class=500):
    ids = kept[:, 0].astype(int)
    assert len(np.unique(ids)) == len(ids)  # no row twice
    counts = np.bincount(ids // per_class, minlength=classes)
    # A uniform sample of 1000 of 5000 rows: about 100 per class (sd ~9).
    assert counts.min() > 60 and counts.max() < 140, counts


def test_kept_features_are_a_uniform_sample_of_class_sorted_data():
    rng = np.random.default_rng(0)
    # Row ids in class order, as folder datasets are read.
    x = np.stack([np.arange(5000.0), rng.normal(size=5000)], axis=1)
    stats = FeatureStatistics(keep_features=1000)
    for batch in _in_random_batches(rng, x):
        stats.update(batch)
    assert stats.features.shape == (1000, 2)
    _assert_uniform_sample(stats.features)
    first = FeatureStatistics(keep_features=1000).update(x[:3700])
    merged = first.merge(FeatureStatistics(keep_features=1000).update(x[3700:]))
    assert merged.features.shape == (1000, 2)
    _assert_uniform_sample(merged.features)
    small = FeatureStatistics(keep_features=1000).update(x[:300])
    np.testing.assert_array_equal(
        small.merge(FeatureStatistics(keep_features=5).update(x[300:303])).features,
        x[:303],
    )
    with pytest.raises(ValueError, match="keep features.*keep_features=0"):
        FeatureStatistics(keep_features=10).merge(FeatureStatistics().update(x))


def test_too_few_samples_for_a_covariance():
    stats = FeatureStatistics().update(np.ones((1, 4)))
    with pytest.raises(ValueError, match="at least 2.*count=1"):
        _ = stats.covariance
    with pytest.raises(ValueError, match="count=0"):
        _ = FeatureStatistics().mean


def test_mismatched_feature_dims():
    stats = FeatureStatistics().update(np.ones((3, 4)))
    with pytest.raises(ValueError, match="dimension 4.*shape \\(2, 5\\)"):
        stats.update(np.ones((2, 5)))
    with pytest.raises(ValueError, match="dimension 4.*dimension 5"):
        stats.merge(FeatureStatistics().update(np.ones((2, 5))))


def test_nan_features():
    x = np.random.default_rng(0).normal(size=(10, 3))
    x[4, 1] = np.nan
    with pytest.raises(ValueError, match="finite.*1 of 10 rows"):
        FeatureStatistics().update(x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="2-D.*shape \\(4,\\)"):
        FeatureStatistics().update(np.ones(4))
    with pytest.raises(ValueError, match="keep_features.*-1"):
        FeatureStatistics(keep_features=-1)
    with pytest.raises(TypeError, match="FeatureStatistics.*ndarray"):
        FeatureStatistics().merge(np.ones((2, 2)))
    with pytest.raises(ValueError, match=".npz"):
        FeatureStatistics().update(np.ones((2, 2))).save("stats.txt")
