import keras
import numpy as np
import pytest

from keras_ssl.architectures.nin import nin_encoder
from keras_ssl.data import load, load_arrays
from keras_ssl.methods import build_method
from keras_ssl.methods.rotation_decoupling import (
    RotationDecoupling,
    add_indices,
    estimate_copy_weights,
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
    rng = np.random.default_rng(0)
    model = _model()
    same = np.tile(rng.normal(size=(1, 3, 8)), (4, 1, 1)).reshape(12, 8)
    assert float(model.mse_loss(same.astype("float32"))) == pytest.approx(0.0)
    spread = rng.normal(size=(12, 8)).astype("float32")
    per_rotation = spread.reshape(4, 3, 8)
    expected = ((per_rotation - per_rotation.mean(0)) ** 2).sum(-1).mean()
    assert float(model.mse_loss(spread)) == pytest.approx(expected, rel=1e-5)


def test_authors_mse_is_on_raw_features_against_a_held_mean():
    rng = np.random.default_rng(0)
    model = _model()
    invariant = keras.Variable(rng.normal(size=(12, 5)).astype("float32"))
    per_rotation = np.asarray(invariant).reshape(4, 3, 5)
    expected = ((per_rotation - per_rotation.mean(0)) ** 2).mean()
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss, mean = model.raw_mse_loss(invariant)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(np.asarray(mean), per_rotation.mean(0), atol=1e-6)
    # The target is held: the gradient is 2 (f - fbar) / n, not the
    # centred one that a differentiable mean would give.
    gradient = np.asarray(tape.gradient(loss, invariant)).reshape(4, 3, 5)
    np.testing.assert_allclose(
        gradient, 2 * (per_rotation - per_rotation.mean(0)) / 60, atol=1e-6
    )


def test_nce_embeds_the_projection_of_the_mean_feature():
    images = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3))
    model = _model()
    images = images.astype("float32")
    from keras_ssl.ops import rotation_batch

    rotated, _ = rotation_batch(images)
    _, invariant = model._heads(rotated, training=False)
    mean = np.asarray(invariant).reshape(4, 2, -1).mean(0)
    projected = np.asarray(model.projection(mean))
    expected = projected / np.linalg.norm(projected, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(model.embed(mean)), expected, atol=1e-5)


def test_pretext_loss_uses_per_copy_weights_from_their_start_step():
    rng = np.random.default_rng(0)
    copy_weights = np.ones((40, 4), "float32")
    copy_weights[:, 1:] = 0.25
    model = _model(copy_weights=copy_weights, weighting_start_step=3)
    model.compile(optimizer="sgd")
    labels = np.repeat(np.arange(4), 2).astype("int32")
    logits = rng.normal(size=(8, 4)).astype("float32")
    ce = -(logits - np.log(np.exp(logits).sum(-1, keepdims=True)))[np.arange(8), labels]
    indices = np.array([5, 7], "int32")
    weights = np.asarray(model.active_copy_weights(indices))
    np.testing.assert_allclose(weights, np.ones(8))  # step 0 < 3
    model.optimizer.iterations.assign(3)
    weights = np.asarray(model.active_copy_weights(indices))
    np.testing.assert_allclose(weights, [1, 1, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25])
    expected = (ce * weights).sum() / 8  # the authors' dot(loss, w) / N
    assert float(model.pretext_loss(logits, labels, weights)) == pytest.approx(
        expected, rel=1e-5
    )


def test_estimate_copy_weights_down_weights_copies_that_look_upright():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(6, 8, 8, 3)).astype("float32")
    images[3:] = 0.0  # featureless: every copy looks upright

    def oracle(batch):
        batch = np.asarray(batch)
        logits = np.zeros((len(batch), 4), "float32")
        for k in range(4):
            match = np.all(
                np.isclose(np.asarray(rotate90(images[:3], k))[None], batch[:, None]),
                axis=(2, 3, 4),
            ).any(axis=1)
            logits[match, k] = 10.0
        flat = np.all(batch == 0, axis=(1, 2, 3))
        logits[flat, 0] = 10.0
        return logits

    weights = estimate_copy_weights(oracle, images, batch_size=4)
    assert weights.shape == (6, 4)
    np.testing.assert_array_equal(weights[:, 0], 1.0)
    assert weights[:3, 1:].min() > 0.99  # rotation recognised: p(upright) ~ 0
    assert weights[3:, 1:].max() < 0.01  # looks upright: 1 - p^2 ~ 0


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
    with pytest.raises(ValueError, match="copy_weights"):
        _model(copy_weights=np.ones(3))
    with pytest.raises(ValueError, match="objective"):
        _model(objective="mine")
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


def test_estimate_copy_weights_accepts_a_rotnet():
    from keras_ssl.methods.rotnet import RotNet

    rotnet = RotNet(nin_encoder((16, 16, 3), num_blocks=3, width=8))
    images = np.random.default_rng(0).uniform(-1, 1, (5, 16, 16, 3)).astype("float32")
    weights = estimate_copy_weights(rotnet, images)
    assert weights.shape == (5, 4) and np.all(weights >= 0) and np.all(weights <= 1)
    with pytest.raises(TypeError, match="rotation_logits_fn"):
        estimate_copy_weights(3, images)


@pytest.mark.parametrize("objective", ["authors", "normalized"])
def test_both_objectives_train(objective):
    images, _ = load_arrays(
        cifar10_path("test"), split="test", image_size=16, limit=16, seed=0
    )
    model = _model(num_examples=16, objective=objective)
    model.compile(optimizer="adam")
    history = model.fit(
        indexed_dataset(images, batch_size=8, seed=0), epochs=2, verbose=0
    )
    assert np.isfinite(history.history["loss"]).all()
