import keras
import numpy as np
import pytest

from keras_ssl.methods import DeepPermNet, build_deeppermnet, build_method
from keras_ssl.ops import hungarian_match, permutation_matrix
from tests.methods.pretext_helpers import (
    assert_logs_finite_metrics,
    assert_round_trip,
    cifar,
    fit_briefly,
    random_images,
)


def _small(**kwargs):
    config = dict(
        encoder_config={"width": 8, "num_blocks": 3},
        tile_units=16,
        hidden_units=32,
        seed=0,
    )
    config.update(kwargs)
    return build_deeppermnet(32, **config)


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    return fit_briefly(_small(), cifar(64, 8), 4)


def test_fit_on_real_images_logs_finite_metrics(trained):
    assert_logs_finite_metrics(trained[1], ("pretext_accuracy", "permutation_accuracy"))


def test_outputs_are_doubly_stochastic_and_loss_is_row_cross_entropy(trained):
    model, _ = trained
    images = random_images(5)
    soft = np.asarray(model(images))
    assert soft.shape == (5, 9, 9)
    np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-3)
    np.testing.assert_allclose(soft.sum(axis=2), 1, atol=1e-3)
    perms = np.argsort(np.random.default_rng(1).random((5, 9)), axis=1)
    target = np.asarray(permutation_matrix(perms))
    expected = -np.mean(np.sum(target * np.log(soft), axis=-1))
    np.testing.assert_allclose(
        float(model.pretext_loss(soft, perms)), expected, rtol=1e-4
    )
    # A perfect prediction has zero loss and full accuracy.
    assert float(model.pretext_loss(target, perms)) == pytest.approx(0, abs=1e-6)
    tile, whole = model.pretext_accuracy(target, perms)
    assert float(tile) == 1.0 and float(whole) == 1.0


def test_evaluate_permutations_uses_the_hungarian_decoding(trained):
    model, _ = trained
    images = random_images(6)
    result = model.evaluate_permutations(images, seed=3)
    truth = np.argsort(np.random.default_rng(3).random((6, 9)), axis=1)
    tiles, _ = model.puzzles(images, permutations=truth)
    _, predicted = hungarian_match(np.asarray(model.soft_permutations(tiles)), True)
    assert result["tile_accuracy"] == pytest.approx((predicted == truth).mean())
    assert result["permutation_accuracy"] == pytest.approx(
        (predicted == truth).all(axis=1).mean()
    )


def test_round_trip(trained, tmp_path):
    model, _ = trained
    restored = assert_round_trip(model, tmp_path)
    assert restored.sinkhorn.n_iters == model.sinkhorn.n_iters


def test_registered_and_build_time_errors():
    model = build_method(
        "deeppermnet",
        image_size=24,
        grid=2,
        gap=0,
        jitter=0,
        encoder_config={"width": 4, "num_blocks": 3},
        tile_units=4,
        hidden_units=4,
    )
    assert isinstance(model, DeepPermNet) and model.num_tiles == 4
    with pytest.raises(ValueError, match="too small for a 3x3 tile grid"):
        build_deeppermnet(6, gap=1, jitter=1)
    with pytest.raises(ValueError, match="grid must be at least 2"):
        _small(grid=1)


@pytest.mark.slow
def test_tile_accuracy_rises_well_above_chance():
    keras.utils.set_random_seed(1)
    model = _small(
        encoder_config={"width": 32, "num_blocks": 3}, tile_units=64, hidden_units=256
    )
    model.compile()
    model.fit(cifar(2048, 32), steps_per_epoch=100, epochs=5, verbose=0)
    result = model.evaluate_permutations(cifar(256, 64, seed=11), steps=4)
    # Chance is 1/9 per tile and 1/9! per puzzle.
    print("deeppermnet Hungarian accuracies:", result)
    assert result["tile_accuracy"] > 0.25, result


def test_single_pass_is_row_softmax_then_column_normalisation():
    model = _small(sinkhorn_iterations=1)
    scores = np.random.default_rng(0).normal(size=(2, 9, 9)).astype("float32")
    rows = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    expected = rows / rows.sum(-2, keepdims=True)
    np.testing.assert_allclose(np.asarray(model.sinkhorn(scores)), expected, rtol=1e-5)
    # One pass: columns are distributions, rows are not in general; the
    # default 20 iterations make both nearly so.
    default = np.asarray(_small().sinkhorn(scores))
    assert np.abs(expected.sum(-1) - 1).max() > 1e-2
    assert np.abs(default.sum(-1) - 1).max() < np.abs(expected.sum(-1) - 1).max()
