import keras
import numpy as np
import pytest

from keras_ssl.methods import build_method
from keras_ssl.methods.exemplar import Exemplar, build_exemplar
from keras_ssl.methods.pretext_task import PretextTask
from tests.helpers import assert_keras_round_trip
from tests.methods.pretext_helpers import cifar, small_encoder


def _numpy_semihard(embeddings, num_views, margin):
    rows = len(embeddings)
    ids = np.tile(np.arange(rows // num_views), num_views)
    d = ((embeddings[:, None] - embeddings[None]) ** 2).sum(-1)
    losses = []
    for a in range(rows):
        negatives = d[a][ids != ids[a]]
        for p in range(rows):
            if p == a or ids[p] != ids[a]:
                continue
            farther = negatives[negatives > d[a, p]]
            n = farther.min() if len(farther) else negatives.max()
            losses.append(max(d[a, p] - n + margin, 0.0))
    return np.mean(losses)


def test_triplet_loss_is_semi_hard_triplet_loss():
    rng = np.random.default_rng(0)
    model = Exemplar(small_encoder(), embedding_dim=8, num_views=3)
    embeddings = rng.normal(size=(12, 8)).astype("float32")
    embeddings /= np.linalg.norm(embeddings, axis=-1, keepdims=True)
    expected = _numpy_semihard(embeddings, 3, 0.5)
    actual = float(model.triplet_loss(embeddings))
    np.testing.assert_allclose(actual, expected, rtol=1e-4)
    # `pretext_loss` stays Exemplar's objective, not the base class's
    # classification cross-entropy.
    assert float(model.pretext_loss(embeddings)) == pytest.approx(actual)


def test_separated_views_have_zero_loss_and_full_accuracy():
    model = Exemplar(small_encoder(), embedding_dim=4, num_views=2)
    centres = np.eye(4, dtype="float32")
    embeddings = np.concatenate([centres, centres])
    assert float(model.triplet_loss(embeddings)) == pytest.approx(0.0)
    assert float(model.nearest_view_accuracy(embeddings)) == pytest.approx(1.0)
    assert float(model.pretext_accuracy(embeddings)) == pytest.approx(1.0)
    shuffled = np.concatenate([centres, centres[::-1]])
    assert float(model.nearest_view_accuracy(shuffled)) == pytest.approx(0.0)


def test_pretext_logs_is_the_pretext_task_hook():
    rng = np.random.default_rng(0)
    model = Exemplar(
        small_encoder(16), embedding_dim=8, num_views=2, color_strength=0.0, seed=3
    )
    assert isinstance(model, PretextTask)
    assert [m.name for m in model.metrics] == ["pretext_loss", "pretext_accuracy"]
    images = rng.uniform(-1, 1, size=(4, 16, 16, 3)).astype("float32")
    # Views differ from call to call, so the logs are checked against the
    # embeddings of the very views they were computed from.
    model.augment = lambda x: np.concatenate([x, x[:, :, ::-1]])
    embeddings = model(model.augment(images))
    logs = model.pretext_logs(images)
    assert sorted(logs) == ["pretext_accuracy", "pretext_loss"]
    expected = _numpy_semihard(np.asarray(embeddings), 2, 0.5)
    assert float(logs["pretext_loss"]) == pytest.approx(expected, rel=1e-4)
    loss, accuracy = model.pretext_step(images)
    assert float(loss) == pytest.approx(expected, rel=1e-4)
    assert float(accuracy) == pytest.approx(
        float(model.nearest_view_accuracy(embeddings))
    )


def test_augment_makes_distinct_views_in_range():
    rng = np.random.default_rng(0)
    model = Exemplar(small_encoder(), num_views=4, seed=0)
    images = rng.uniform(-1, 1, size=(3, 32, 32, 3)).astype("float32")
    views = np.asarray(model.augment(images))
    assert views.shape == (12, 32, 32, 3)
    assert views.min() >= -1.0 and views.max() <= 1.0
    assert not np.allclose(views[0], views[3])


def test_trains_on_real_images_and_round_trips(tmp_path):
    data = cifar(32, 8, repeat=False)
    model = build_method(
        "exemplar",
        image_size=32,
        channels=3,
        encoder=small_encoder(),
        embedding_dim=16,
        num_views=4,
        seed=1,
    )
    history = model.fit(data, epochs=1, verbose=0)
    assert np.isfinite(history.history["pretext_loss"]).all()
    assert 0.0 <= history.history["pretext_accuracy"][-1] <= 1.0
    images = next(iter(data))[0].numpy()
    assert_keras_round_trip(model, inputs=images, tmp_path=tmp_path, atol=1e-5)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="num_views"):
        Exemplar(small_encoder(), num_views=1)
    with pytest.raises(ValueError, match="crop_fraction"):
        Exemplar(small_encoder(), crop_fraction=(0.0, 1.0))
    flat = keras.Sequential([keras.Input((4, 4, 3, 2)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pooled"):
        Exemplar(flat)


@pytest.mark.slow
def test_pretext_accuracy_rises_above_chance():
    data = cifar(512, 16, repeat=False)
    model = build_exemplar(
        32, 3, encoder=small_encoder(), embedding_dim=32, num_views=4, seed=0
    )
    history = model.fit(data, epochs=4, verbose=0)
    chance = 3 / (4 * 16 - 1)
    assert history.history["pretext_accuracy"][-1] > 5 * chance
    assert history.history["pretext_loss"][-1] < history.history["pretext_loss"][0]
