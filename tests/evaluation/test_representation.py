import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl import data
from keras_ssl.evaluation import adaptive_average_pool, knn_accuracy, linear_probe


def test_pooling_reproduces_the_split_brain_dims():
    for (height, channels), dims in {
        (55, 96): 9600,  # conv1: 10x10x96
        (27, 256): 9216,  # conv2: 6x6x256
        (13, 384): 9600,  # conv3: 5x5x384
        (13, 256): 9216,  # conv5: 6x6x256
        (4, 4096): 4096,  # wider than the budget: global pooling
    }.items():
        x = np.zeros((1, height, height, channels), np.float32)
        assert adaptive_average_pool(x).shape == (1, dims)


def test_pooling_averages_blocks():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 4, 3))
    pooled = adaptive_average_pool(x, max_dims=12).reshape(2, 2, 2, 3)
    blocks = x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(pooled, blocks)
    # Uneven bins overlap but still cover every row, like adaptive pooling.
    ramp = np.broadcast_to(np.arange(5.0)[None, :, None, None], (1, 5, 5, 1))
    pooled = adaptive_average_pool(ramp, max_dims=4).reshape(2, 2)
    np.testing.assert_allclose(pooled[:, 0], [1.0, 3.0])
    with pytest.raises(ValueError, match="\\(B, H, W, C\\).*\\(2, 3, 4\\)"):
        adaptive_average_pool(np.zeros((2, 3, 4)))


def _separable(rng, n, d=20, k=4):
    w = rng.normal(size=(d, k))
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1)


def test_linear_probe_separates_linearly_separable_features():
    rng = np.random.default_rng(0)
    x, y = _separable(rng, 3000)
    accuracy = linear_probe(
        None, (x[:2000], y[:2000]), (x[2000:], y[2000:]), epochs=15, batch_size=128
    )["output"]
    assert accuracy > 0.9


def test_linear_probe_is_at_chance_on_random_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 20)).astype(np.float32)
    y = rng.integers(0, 4, size=3000)
    accuracy = linear_probe(
        None, (x[:1000], y[:1000]), (x[1000:], y[1000:]), epochs=10, batch_size=128
    )["output"]
    assert abs(accuracy - 0.25) < 0.06


@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_arrays("digits", image_size=16, seed=0)
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order], labels[order]


def _random_encoder(input_shape):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(16, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv2")(x)
    return keras.Model(inputs, x)


def test_linear_probe_per_layer_of_a_frozen_encoder_on_digits(digits):
    images, labels = digits
    encoder = _random_encoder(images.shape[1:])
    before = [w.copy() for w in encoder.get_weights()]
    train = tf.data.Dataset.from_tensor_slices((images[:1200], labels[:1200])).batch(
        100
    )
    test = (images[1200:], labels[1200:])
    results = linear_probe(
        encoder, train, test, layers=["conv1", "conv2"], epochs=6, batch_size=100
    )
    assert set(results) == {"conv1", "conv2"}
    # Random convolutional features of digits are linearly separable enough.
    assert min(results.values()) > 0.8
    for a, b in zip(before, encoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="layers must name.*nope"):
        linear_probe(encoder, train, test, layers=["nope"])


def test_knn_on_clustered_toy_set():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 16)) * 3
    y = rng.integers(0, 5, size=1200)
    x = centers[y] + rng.normal(size=(1200, 16))
    accuracy = knn_accuracy(None, (x[:1000], y[:1000]), (x[1000:], y[1000:]), k=50)
    assert accuracy > 0.95
    noise = rng.integers(0, 5, size=1200)
    chance = knn_accuracy(None, (x[:1000], noise[:1000]), (x[1000:], noise[1000:]))
    assert chance < 0.4


def test_probes_accept_an_encoder_over_feature_vectors():
    # An encoder of vectors (e.g. a head on precomputed features) works like
    # one of images: a shuffling map keeps the clusters, dropping them fails.
    # Seeded, with orthogonal cluster centres: cosine kNN on random centres
    # fails now and then when two centres happen to point the same way.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    centers = np.eye(4, 12) * 8
    y = rng.integers(0, 4, size=800)
    x = (centers[y] + rng.normal(size=(800, 12))).astype("float32")
    train, test = (x[:600], y[:600]), (x[600:], y[600:])
    inputs = keras.Input((12,))
    keep = keras.Model(inputs, keras.layers.Dense(8)(inputs))
    drop = keras.Model(inputs, keras.layers.Lambda(lambda v: v * 0.0)(inputs))
    assert knn_accuracy(keep, train, test, k=20) > 0.9
    assert knn_accuracy(drop, train, test, k=20) < 0.5
    assert linear_probe(keep, train, test, epochs=10, seed=0)["output"] > 0.9


def test_knn_of_a_frozen_encoder_on_digits(digits):
    images, labels = digits
    encoder = _random_encoder(images.shape[1:])
    train = tf.data.Dataset.from_tensor_slices((images[:1200], labels[:1200]))
    accuracy = knn_accuracy(
        encoder, train.batch(100), (images[1200:], labels[1200:]), k=20
    )
    assert accuracy > 0.5  # chance is 0.1


def _brute_force_knn(train_x, train_y, test_x, k, temperature, num_classes):
    train_x = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    test_x = test_x / np.linalg.norm(test_x, axis=1, keepdims=True)
    predictions = []
    for q in test_x:
        sims = train_x @ q
        nearest = np.argsort(-sims)[:k]
        votes = np.zeros(num_classes)
        for i in nearest:
            votes[train_y[i]] += np.exp(sims[i] / temperature)
        predictions.append(np.argmax(votes))
    return np.array(predictions)


def test_knn_matches_a_brute_force_vote():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(260, 6))
    y = rng.integers(0, 3, size=260)
    expected = _brute_force_knn(x[:200], y[:200], x[200:], 15, 0.1, 3)
    accuracy = knn_accuracy(
        None, (x[:200], y[:200]), (x[200:], y[200:]), k=15, batch_size=7
    )
    assert accuracy == pytest.approx(np.mean(expected == y[200:]))
    # Spatial features are globally average pooled first.
    maps = rng.normal(size=(260, 3, 3, 6))
    assert knn_accuracy(
        None, (maps[:200], y[:200]), (maps[200:], y[200:]), k=15
    ) == pytest.approx(
        knn_accuracy(
            None,
            (maps[:200].mean(axis=(1, 2)), y[:200]),
            (maps[200:].mean(axis=(1, 2)), y[200:]),
            k=15,
        )
    )


def test_knn_errors():
    x, y = np.ones((10, 3)), np.zeros(10, int)
    with pytest.raises(ValueError, match="k must be at most the 10.*k=200"):
        knn_accuracy(None, (x, y), (x, y))
    with pytest.raises(ValueError, match="temperature.*0"):
        knn_accuracy(None, (x, y), (x, y), k=3, temperature=0)
    with pytest.raises(ValueError, match="same length.*10 images and 9 labels"):
        knn_accuracy(None, (x, y[:9]), (x, y), k=3)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        knn_accuracy(None, (bad, y), (x, y), k=3)
