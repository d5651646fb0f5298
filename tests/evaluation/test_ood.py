import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from keras_ssl.evaluation import auroc, ood_auroc


def _pairwise(scores_in, scores_out):
    diff = np.asarray(scores_out)[:, None] - np.asarray(scores_in)[None, :]
    return np.mean(diff > 0) + 0.5 * np.mean(diff == 0)


def test_auroc_equals_the_pairwise_probability_and_sklearn():
    rng = np.random.default_rng(0)
    scores_in = rng.normal(size=300)
    scores_out = rng.normal(size=200) + 0.7
    # Rounding creates ties, which count one half.
    scores_in, scores_out = np.round(scores_in, 1), np.round(scores_out, 1)
    value = auroc(scores_in, scores_out)
    assert value == pytest.approx(_pairwise(scores_in, scores_out), rel=1e-12)
    labels = np.r_[np.zeros(300), np.ones(200)]
    assert value == pytest.approx(
        roc_auc_score(labels, np.r_[scores_in, scores_out]), rel=1e-12
    )
    assert 0.6 < value < 0.8


def test_auroc_direction_and_extremes():
    assert auroc([0, 1, 2], [3, 4]) == 1.0
    assert auroc([3, 4], [0, 1, 2]) == 0.0
    assert auroc([1, 1], [1, 1, 1]) == 0.5


def test_ood_auroc_on_datasets_and_arrays():
    rng = np.random.default_rng(0)
    inside = rng.uniform(-0.5, 0.5, size=(150, 4, 4, 3)).astype(np.float32)
    outside = rng.uniform(-0.2, 0.9, size=(120, 4, 4, 3)).astype(np.float32)

    def score(images):
        return images.mean(axis=(1, 2, 3))

    expected = auroc(score(inside), score(outside))
    dataset = tf.data.Dataset.from_tensor_slices((outside, np.zeros(120))).batch(32)
    assert ood_auroc(score, inside, dataset, batch_size=40) == pytest.approx(expected)
    assert expected > 0.9


def test_auroc_errors():
    with pytest.raises(ValueError, match="scores_out must be finite"):
        auroc([0.1, 0.2], [np.nan])
    with pytest.raises(ValueError, match="scores_in.*1-D.*\\(2, 2\\)"):
        auroc(np.zeros((2, 2)), [1.0])
    with pytest.raises(ValueError, match="one score per image.*\\(4,\\).*\\(4, 3\\)"):
        ood_auroc(
            lambda x: x[:, 0, 0, :], np.zeros((4, 2, 2, 3)), np.zeros((4, 2, 2, 3))
        )
    with pytest.raises(TypeError, match="model_score_fn must be callable"):
        ood_auroc(3, np.zeros((4, 2, 2, 3)), np.zeros((4, 2, 2, 3)))
