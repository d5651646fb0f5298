import keras
import numpy as np
import pytest

from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.data import load, load_arrays
from keras_ssl.methods import build_method
from keras_ssl.methods.rotation_decoupling import (
    RotationDecoupling,
    add_indices,
    estimate_image_weights,
    indexed_dataset,
)
from keras_ssl.ops import rotate90
from tests.helpers import assert_keras_round_trip, cifar10_path


def _small_encoder(size=32):
    return nin_encoder((size, size, 3), num_blocks=3, width=16)


def _model(**kwargs):
    config = dict(num_examples=40, embedding_dim=8, num_negatives=16, seed=0)
    config.update(kwargs)
    return RotationDecoupling(_small_encoder(16), **config)


def test_mse_loss_is_zero_for_rotation_invariant_embeddings():
    rng = np.random.default_rng()
    model = _model()
    same = np.tile(rng.normal(size=(1, 3, 8)), (4, 1, 1)).reshape(12, 8)
    assert float(model.mse_loss(same.astype("float32"))) == pytest.approx(0.0)
    spread = rng.normal(size=(12, 8)).astype("float32")
    per_rotation = spread.reshape(4, 3, 8)
    expected = ((per_rotation - per_rotation.mean(0)) ** 2).sum(-1).mean()
    assert float(model.mse_loss(spread)) == pytest.approx(expected, rel=1e-5)


def test_pretext_loss_uses_image_weights():
    rng = np.random.default_rng()
    model = _model()
    labels = np.repeat(np.arange(4), 2).astype("int32")
    logits = rng.normal(size=(8, 4)).astype("float32")
    ce = -(logits - np.log(np.exp(logits).sum(-1, keepdims=True)))[np.arange(8), labels]
    per_image = ce.reshape(4, 2).mean(0)
    weights = np.array([0.0, 2.0], "float32")
    expected = (per_image * weights).mean()
    assert float(model.pretext_loss(labels, logits, weights)) == pytest.approx(
        expected, rel=1e-5
    )


def test_estimate_image_weights_favours_images_whose_rotation_is_recognised():
    rng = np.random.default_rng()
    images = rng.normal(size=(6, 8, 8, 3)).astype("float32")
    images[3:] = 0.0  # featureless images: rotation cannot be told

    def oracle(batch):
        batch = np.asarray(batch)
        logits = np.zeros((len(batch), 4), "float32")
        for k in range(4):
            match = np.all(
                np.isclose(np.asarray(rotate90(images[:3], k))[None], batch[:, None]),
                axis=(2, 3, 4),
            ).any(axis=1)
            logits[match, k] = 10.0
        return logits

    weights = estimate_image_weights(oracle, images, batch_size=4)
    assert weights.shape == (6,)
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)
    assert weights[:3].min() > 3 * weights[3:].max()


def test_add_indices_numbers_examples_in_order():
    data = load(
        cifar10_path("test"),
        split="test",
        image_size=32,
        limit=20,
        batch_size=6,
        shuffle=False,
        seed=0,
    )
    indexed = add_indices(data, batch_size=6)
    images, labels, indices = zip(*[tuple(map(np.asarray, b)) for b in indexed])
    np.testing.assert_array_equal(np.concatenate(indices), np.arange(20))
    original = np.concatenate([np.asarray(b[0]) for b in data])
    np.testing.assert_allclose(np.concatenate(images), original)


def test_trains_on_real_images_updates_bank_and_round_trips(tmp_path):
    images, labels = load_arrays(
        cifar10_path("test"), split="test", image_size=32, limit=32, seed=0
    )
    model = build_method(
        "rotation_decoupling",
        image_size=32,
        channels=3,
        num_examples=32,
        encoder=_small_encoder(),
        embedding_dim=16,
        num_negatives=64,
        seed=0,
    )
    before = np.asarray(model.memory_bank.bank).copy()
    history = model.fit(
        indexed_dataset(images, labels, batch_size=8, seed=0), epochs=1, verbose=0
    )
    for name in ("loss", "pretext_loss", "mse_loss", "nce_loss"):
        assert np.isfinite(history.history[name]).all(), name
    after = np.asarray(model.memory_bank.bank)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(np.linalg.norm(after, axis=-1), 1.0, atol=1e-4)
    assert_keras_round_trip(model, inputs=images[:4], tmp_path=tmp_path, atol=1e-5)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="num_examples"):
        _model(num_examples=1)
    with pytest.raises(ValueError, match="image_weights"):
        _model(image_weights=np.ones(3))
    with pytest.raises(ValueError, match="loss_weights"):
        _model(loss_weights={"rotation": 1.0})
    with pytest.raises(ValueError, match="nce_kind"):
        _model(nce_kind="nope")
    model = _model()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="indices"):
        model.train_step(np.zeros((2, 16, 16, 3), "float32"))
    flat = keras.Sequential([keras.Input((4, 4, 3, 2)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pooled"):
        RotationDecoupling(flat, num_examples=10)


@pytest.mark.slow
def test_rotation_accuracy_rises_and_nce_falls():
    images, labels = load_arrays(
        cifar10_path("test"), split="test", image_size=32, limit=1024, seed=0
    )
    model = build_method(
        "rotation_decoupling",
        image_size=32,
        channels=3,
        num_examples=1024,
        encoder=_small_encoder(),
        num_negatives=512,
        seed=0,
    )
    history = model.fit(
        indexed_dataset(images, batch_size=32, seed=0), epochs=8, verbose=0
    )
    assert history.history["pretext_accuracy"][-1] > 0.3
    assert history.history["nce_loss"][-1] < history.history["nce_loss"][0]


def test_estimate_image_weights_accepts_a_rotnet():
    from keras_ssl.methods.rotnet import RotNet

    rotnet = RotNet(nin_encoder((16, 16, 3), num_blocks=3, width=8))
    images = np.random.default_rng().uniform(-1, 1, (5, 16, 16, 3)).astype("float32")
    weights = estimate_image_weights(rotnet, images)
    assert weights.shape == (5,) and np.all(weights > 0)
    with pytest.raises(TypeError, match="rotation_logits_fn"):
        estimate_image_weights(3, images)
