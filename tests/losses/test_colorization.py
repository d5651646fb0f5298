import numpy as np
import pytest
from keras import ops

from keras_ssl.losses.colorization import (
    ab_regression_loss,
    hue_chroma_kl_loss,
    rebalanced_cross_entropy,
)


def test_rebalanced_cross_entropy_weights_each_pixel_by_its_target_bin():
    rng = np.random.default_rng(0)
    targets = rng.dirichlet(np.ones(6), size=(2, 3, 3)).astype("float32")
    logits = rng.normal(size=(2, 3, 3, 6)).astype("float32")
    weights = rng.uniform(0.5, 2.0, size=6).astype("float32")
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_pixel = -(targets * log_p).sum(-1)
    expected = (per_pixel * weights[targets.argmax(-1)]).mean()
    actual = float(rebalanced_cross_entropy(targets, logits, weights))
    assert actual == pytest.approx(expected, rel=1e-5)
    unweighted = float(rebalanced_cross_entropy(targets, logits))
    assert unweighted == pytest.approx(per_pixel.mean(), rel=1e-5)


def test_cross_entropy_is_smallest_at_the_target():
    targets = np.array([[0.7, 0.2, 0.1]], "float32")
    best = float(rebalanced_cross_entropy(targets, np.log(targets)))
    other = float(rebalanced_cross_entropy(targets, np.zeros((1, 3))))
    assert best < other


def test_ab_regression_loss_is_the_mean_squared_distance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 5, 2)).astype("float32")
    expected = ((a - b) ** 2).sum(-1).mean()
    assert float(ab_regression_loss(a, b)) == pytest.approx(expected, rel=1e-5)


def test_hue_chroma_loss_is_zero_at_the_target_and_weights_hue_by_chroma():
    rng = np.random.default_rng(0)
    hue = rng.dirichlet(np.ones(8), size=4).astype("float32")
    chroma = rng.dirichlet(np.ones(8), size=4).astype("float32")
    weight = np.zeros((4, 1), "float32")
    exact = hue_chroma_kl_loss(hue, chroma, weight, np.log(hue), np.log(chroma))
    assert abs(float(exact)) < 1e-5
    wrong_hue = np.zeros((4, 8), "float32")
    # Colourless pixels: the hue prediction does not matter.
    grey = hue_chroma_kl_loss(hue, chroma, weight, wrong_hue, np.log(chroma))
    assert abs(float(grey)) < 1e-5
    coloured = hue_chroma_kl_loss(
        hue, chroma, np.ones((4, 1), "float32"), wrong_hue, np.log(chroma), 5.0
    )
    kl = (hue * (np.log(hue) - np.log(1 / 8))).sum(-1).mean()
    assert float(ops.convert_to_numpy(coloured)) == pytest.approx(5 * kl, rel=1e-4)
