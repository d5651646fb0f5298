import numpy as np
import pytest
from keras import ops

from keras_ssl.ops.color import (
    ab_bins,
    annealed_mean,
    estimate_ab_prior,
    greyscale,
    hue_chroma_histograms,
    images_to_lab,
    lab_to_rgb,
    nearest_bin,
    rebalancing_weights,
    rgb_to_lab,
    soft_encode_ab,
)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_lab_known_values():
    rgb = np.array([[1, 1, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], "float32")
    lab = _np(rgb_to_lab(rgb))
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-3)
    # Published CIE Lab (D65) of the sRGB primaries.
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)
    np.testing.assert_allclose(lab[3], [87.73, -86.18, 83.18], atol=0.02)
    np.testing.assert_allclose(lab[4], [32.30, 79.19, -107.86], atol=0.02)


def test_round_trip_inside_the_gamut():
    rgb = np.random.default_rng(0).uniform(size=(20000, 3)).astype("float32")
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(_np(lab_to_rgb(lab, clip=False)), rgb, atol=1e-3)
    back = _np(rgb_to_lab(lab_to_rgb(lab)))
    np.testing.assert_allclose(back, _np(lab), atol=1e-2)


def test_greyscale_keeps_lightness_and_drops_colour():
    images = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    grey = _np(greyscale(images))
    np.testing.assert_allclose(grey[..., 0], grey[..., 1], atol=1e-5)
    np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-5)
    lab, grey_lab = _np(images_to_lab(images)), _np(images_to_lab(grey))
    np.testing.assert_allclose(grey_lab[..., 0], lab[..., 0], atol=1e-2)
    np.testing.assert_allclose(grey_lab[..., 1:], 0.0, atol=1e-2)


def test_every_srgb_colour_lies_in_a_bin():
    bins = ab_bins(10)
    assert bins.shape == (261, 2)
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(50000, 3)).astype("float32") / 255.0
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T
    colours = np.concatenate([colours, corners.astype("float32")])
    ab = _np(rgb_to_lab(colours))[:, 1:]
    nearest = bins[_np(nearest_bin(ab, bins))]
    # Inside the nearest bin's 10 x 10 cell (the Chebyshev half-width).
    assert np.abs(ab - nearest).max() <= 5.0 + 1e-3


def test_bins_are_a_grid_and_accept_other_sizes():
    bins = ab_bins(10)
    np.testing.assert_array_equal(bins % 10, 0)
    assert len(np.unique(bins, axis=0)) == len(bins)
    assert len(ab_bins(20)) < len(bins) < len(ab_bins(5))
    with pytest.raises(ValueError, match="grid_size"):
        ab_bins(0)


def test_soft_encoding_sums_to_one_and_peaks_at_the_nearest_bin():
    bins = ab_bins(10)
    ab = np.random.default_rng(0).uniform(-60, 60, size=(500, 2)).astype("float32")
    encoded = _np(soft_encode_ab(ab, bins, sigma=5, neighbours=5))
    np.testing.assert_allclose(encoded.sum(-1), 1.0, atol=1e-5)
    assert ((encoded > 0).sum(-1) == 5).all()
    np.testing.assert_array_equal(encoded.argmax(-1), _np(nearest_bin(ab, bins)))
    one = _np(soft_encode_ab(ab, bins, neighbours=1))
    np.testing.assert_allclose(one.max(-1), 1.0)


def test_soft_encoding_accepts_a_user_table_and_checks_it():
    table = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], "float32")
    encoded = _np(soft_encode_ab(np.array([[1.0, 1.0]], "float32"), table, 5, 3))
    assert encoded.shape == (1, 3) and encoded.argmax() == 0
    with pytest.raises(ValueError, match="bins"):
        soft_encode_ab(np.zeros((1, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="neighbours"):
        soft_encode_ab(np.zeros((1, 2)), table, neighbours=4)


def test_annealed_mean_is_the_expectation_at_one_and_the_mode_when_cold():
    rng = np.random.default_rng(0)
    bins = ab_bins(10)
    logits = rng.normal(size=(6, len(bins))).astype("float32") * 3
    # A mode at least 0.5 above the runner-up, so that T = 0.01 isolates it.
    logits[np.arange(6), logits.argmax(-1)] += 0.5
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        _np(annealed_mean(logits, bins, 1.0)), probabilities @ bins, atol=1e-3
    )
    mode = bins[logits.argmax(-1)]
    errors = [
        np.abs(_np(annealed_mean(logits, bins, t)) - mode).max()
        for t in (1.0, 0.38, 0.1, 0.01)
    ]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-2


def test_rebalancing_weights_have_expectation_one_under_the_prior():
    rng = np.random.default_rng(0)
    prior = rng.dirichlet(np.full(50, 0.3)).astype("float32")
    for mix in (0.0, 0.5, 1.0):
        weights = _np(rebalancing_weights(prior, mix))
        assert float(prior @ weights) == pytest.approx(1.0, rel=1e-5)
    weights = _np(rebalancing_weights(prior, 0.5))
    # Rarer bins weigh more; mix 1 is uniform.
    assert weights[prior.argmin()] > weights[prior.argmax()]
    np.testing.assert_allclose(_np(rebalancing_weights(prior, 1.0)), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="mix"):
        rebalancing_weights(prior, 1.5)


def test_prior_from_images_counts_their_colours():
    bins = ab_bins(10)
    red = np.zeros((3, 4, 4, 3), "uint8")
    red[..., 0] = 255
    prior = estimate_ab_prior(red, bins, sigma=0)
    red_bin = int(_np(nearest_bin(_np(rgb_to_lab(np.array([1.0, 0, 0])))[1:], bins)))
    assert prior[red_bin] == pytest.approx(1.0)
    smooth = estimate_ab_prior([(red, None), (red, None)], bins, sigma=5)
    assert smooth.sum() == pytest.approx(1.0, rel=1e-5)
    assert smooth.argmax() == red_bin and smooth[red_bin] < 1.0


def test_hue_chroma_histograms():
    rng = np.random.default_rng(0)
    lab = _np(rgb_to_lab(rng.uniform(size=(2, 9, 9, 3)).astype("float32")))
    hue, chroma, weight = (_np(x) for x in hue_chroma_histograms(lab))
    assert hue.shape == chroma.shape == (2, 9, 9, 32)
    np.testing.assert_allclose(hue.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(chroma.sum(-1), 1.0, atol=1e-5)
    # The centre pixel's histogram counts all 49 pixels of its 7x7 window.
    centre = chroma[0, 4, 4] * 49
    np.testing.assert_allclose(centre, np.round(centre), atol=1e-4)
    # A grey image: all chroma in the first bin, zero hue weight.
    grey = np.zeros((1, 8, 8, 3), "float32")
    grey[..., 0] = 50
    _, grey_chroma, grey_weight = (_np(x) for x in hue_chroma_histograms(grey))
    np.testing.assert_allclose(grey_chroma[..., 0], 1.0)
    np.testing.assert_allclose(grey_weight, 0.0, atol=1e-6)
