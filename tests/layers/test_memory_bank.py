import numpy as np
import pytest

from keras_ssl.layers import MemoryBank
from tests.helpers import assert_keras_round_trip


def test_rows_start_normalised():
    bank = MemoryBank(size=50, dim=8, seed=1)
    rows = np.asarray(bank(np.arange(50)))
    np.testing.assert_allclose(np.linalg.norm(rows, axis=-1), 1.0, atol=1e-5)


def test_update_is_normalised_momentum_average_of_given_rows_only():
    rng = np.random.default_rng(0)
    bank = MemoryBank(size=20, dim=6, momentum=0.5, seed=2)
    before = np.asarray(bank(np.arange(20))).copy()
    indices = np.array([3, 11])
    features = rng.normal(size=(2, 6)).astype("float32")
    features /= np.linalg.norm(features, axis=-1, keepdims=True)
    bank.update(features, indices)
    after = np.asarray(bank(np.arange(20)))
    expected = 0.5 * before[indices] + 0.5 * features
    expected /= np.linalg.norm(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(after[indices], expected, atol=1e-5)
    untouched = np.setdiff1d(np.arange(20), indices)
    np.testing.assert_allclose(after[untouched], before[untouched])


def test_repeated_updates_converge_to_feature():
    bank = MemoryBank(size=5, dim=3, momentum=0.5, seed=0)
    target = np.array([[0.0, 1.0, 0.0]], "float32")
    for _ in range(30):
        bank.update(target, np.array([2]))
    np.testing.assert_allclose(np.asarray(bank(np.array([2]))), target, atol=1e-5)


def test_sample_indices_in_range():
    bank = MemoryBank(size=7, dim=2, seed=0)
    samples = np.asarray(bank.sample_indices((100, 5)))
    assert samples.shape == (100, 5)
    assert samples.min() >= 0 and samples.max() < 7
    assert len(np.unique(samples)) == 7


def test_round_trip_keeps_bank(tmp_path):
    bank = MemoryBank(size=12, dim=4, seed=3)
    bank.update(np.ones((2, 4), "float32"), np.array([0, 5]))
    assert_keras_round_trip(bank, inputs=np.array([[0, 5, 7]]), tmp_path=tmp_path)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"size": 0, "dim": 4}, "size"),
        ({"size": 4, "dim": -1}, "dim"),
        ({"size": 4, "dim": 4, "momentum": 1.0}, "momentum"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MemoryBank(**kwargs)
