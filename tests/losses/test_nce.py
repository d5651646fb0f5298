import numpy as np
import pytest

from keras_ssl.losses.nce import nce_loss


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype("float32")


def _batch(rng, batch=6, negatives=32, dim=16):
    features = _unit(rng.normal(size=(batch, dim)))
    noise = _unit(rng.normal(size=(batch, negatives, dim)))
    return features, noise


@pytest.mark.parametrize("kind", ["nce", "softmax"])
def test_matching_positive_gives_lower_loss_than_random(kind):
    rng = np.random.default_rng(0)
    features, negatives = _batch(rng)
    random_positive = _unit(rng.normal(size=features.shape))
    matched = np.asarray(
        nce_loss(features, features, negatives, num_examples=1000, kind=kind)
    )
    unmatched = np.asarray(
        nce_loss(features, random_positive, negatives, num_examples=1000, kind=kind)
    )
    assert matched.shape == (6,)
    assert np.all(np.isfinite(matched))
    assert np.all(matched < unmatched)


def test_softmax_matches_numpy_cross_entropy():
    rng = np.random.default_rng(0)
    features, negatives = _batch(rng, negatives=5)
    positives = _unit(rng.normal(size=features.shape))
    t = 0.1
    logits = (
        np.concatenate(
            [
                np.sum(features * positives, -1, keepdims=True),
                np.einsum("bd,bkd->bk", features, negatives),
            ],
            axis=-1,
        )
        / t
    )
    expected = np.log(np.exp(logits).sum(-1)) - logits[:, 0]
    actual = nce_loss(features, positives, negatives, temperature=t, kind="softmax")
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-4)


def test_nce_matches_numpy_binary_nce():
    rng = np.random.default_rng(0)
    features, negatives = _batch(rng, negatives=8)
    positives = _unit(rng.normal(size=features.shape))
    t, n = 0.07, 500
    pos = np.exp(np.sum(features * positives, -1) / t)
    neg = np.exp(np.einsum("bd,bkd->bk", features, negatives) / t)
    z = n * neg.mean()
    noise = 8 / n
    h_pos = (pos / z) / (pos / z + noise)
    h_neg = (neg / z) / (neg / z + noise)
    expected = -np.log(h_pos) - np.log(1 - h_neg).sum(-1)
    actual = nce_loss(features, positives, negatives, temperature=t, num_examples=n)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-4)


def test_bad_arguments_are_clear_errors():
    features, negatives = _batch(np.random.default_rng(0))
    with pytest.raises(ValueError, match="kind"):
        nce_loss(features, features, negatives, kind="infonce")
    with pytest.raises(ValueError, match="num_examples"):
        nce_loss(features, features, negatives, kind="nce")
    with pytest.raises(ValueError, match="temperature"):
        nce_loss(features, features, negatives, temperature=0.0, kind="softmax")
