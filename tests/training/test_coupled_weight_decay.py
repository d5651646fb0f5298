import keras
import numpy as np
import pytest

from keras_ssl.training.coupled_weight_decay import CoupledWeightDecaySGD


def _torch_sgd(w, grads, lr, momentum, wd, nesterov):
    """PyTorch's SGD update (dampening 0), written out in numpy."""
    w = w.copy()
    buf = None
    for g in grads:
        d = g + wd * w
        buf = d.copy() if buf is None else momentum * buf + d
        step = d + momentum * buf if nesterov else buf
        w = w - lr * step
    return w


def test_update_is_gradient_plus_decay_without_momentum():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4)).astype("float32")
    g = rng.normal(size=(3, 4)).astype("float32")
    w = keras.Variable(w0)
    optimizer = CoupledWeightDecaySGD(learning_rate=0.1, weight_decay=5e-4)
    optimizer.apply_gradients([(g, w)])
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * (g + 5e-4 * w0), rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_matches_pytorch_sgd_with_momentum(nesterov):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(5,)).astype("float64")
    grads = [rng.normal(size=(5,)) for _ in range(6)]
    w = keras.Variable(w0.astype("float32"))
    optimizer = CoupledWeightDecaySGD(
        learning_rate=0.1, momentum=0.9, nesterov=nesterov, weight_decay=0.01
    )
    for g in grads:
        optimizer.apply_gradients([(g.astype("float32"), w)])
    expected = _torch_sgd(w0, grads, 0.1, 0.9, 0.01, nesterov)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_pure_decay_is_ten_times_keras_decoupled_decay():
    coupled = keras.Variable(np.ones(1, "float32"))
    decoupled = keras.Variable(np.ones(1, "float32"))
    ours = CoupledWeightDecaySGD(0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    theirs = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    zero = np.zeros(1, "float32")
    for _ in range(1000):
        ours.apply_gradients([(zero, coupled)])
        theirs.apply_gradients([(zero, decoupled)])
    assert float(coupled.numpy()[0]) == pytest.approx(0.608, abs=0.01)
    assert float(decoupled.numpy()[0]) == pytest.approx(0.951, abs=0.002)


def test_excluded_variables_are_not_decayed_and_config_round_trips():
    kept = keras.Variable(np.ones(2, "float32"), name="kernel")
    excluded = keras.Variable(np.ones(2, "float32"), name="bias")
    optimizer = CoupledWeightDecaySGD(learning_rate=1.0, weight_decay=0.25)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    zero = np.zeros(2, "float32")
    optimizer.apply_gradients([(zero, kept), (zero, excluded)])
    np.testing.assert_allclose(kept.numpy(), [0.75, 0.75])
    np.testing.assert_allclose(excluded.numpy(), [1.0, 1.0])
    config = optimizer.get_config()
    assert config["weight_decay"] == 0.25
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(clone, CoupledWeightDecaySGD)
    assert clone.weight_decay == 0.25
    with pytest.raises(ValueError, match="weight_decay"):
        CoupledWeightDecaySGD(weight_decay=-1.0)


def test_trains_a_model_with_fit():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=CoupledWeightDecaySGD(0.05, momentum=0.9, weight_decay=1e-4),
        loss="mse",
    )
    history = model.fit(x, y, batch_size=16, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
