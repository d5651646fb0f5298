import keras
import numpy as np
import pytest

from keras_ssl.methods import build_method
from keras_ssl.methods.transitive_invariance import (
    TransitiveGraph,
    TransitiveGraphUpdate,
    TransitiveInvariance,
)
from tests.helpers import assert_keras_round_trip, cifar10_images


def _small(**kwargs):
    config = dict(
        image_size=32,
        channels=3,
        encoder_config={"width": 16, "num_blocks": 3},
        embedding_dim=32,
        seed=0,
    )
    config.update(kwargs)
    return build_method("transitive_invariance", **config)


def test_graph_links_each_image_to_its_nearest_other_images():
    points = np.array([[0, 1], [0, 1.1], [1, 0], [1.1, 0], [-1, 0]], "float32")
    images = np.zeros((5, 4, 4, 3), "float32")
    graph = TransitiveGraph(images, num_neighbors=1, seed=0)
    np.testing.assert_array_equal(graph.neighbors[:, 0], np.arange(5))
    graph.rebuild(lambda x: points[: len(x)])
    np.testing.assert_array_equal(graph.neighbors[:4, 0], [1, 0, 3, 2])
    assert graph.neighbors[4, 0] != 4  # never itself
    anchors, partners = next(iter(graph.dataset(4)))
    assert anchors.shape == partners.shape == (4, 4, 4, 3)
    with pytest.raises(ValueError, match="num_neighbors"):
        TransitiveGraph(images, num_neighbors=5)


def test_transitive_pairs_and_ranking_loss():
    model = _small()
    images = cifar10_images(4)
    doubled = np.concatenate([images, images[::-1]])
    anchors, positives = model.transitive_pairs(doubled)
    assert tuple(anchors.shape) == tuple(positives.shape) == (24, 32)
    transitive = _small(pairs="transitive")
    anchors, _ = transitive.transitive_pairs(doubled)
    assert tuple(anchors.shape) == (12, 32)
    model = transitive
    # Identical anchors and positives, far from all negatives: loss 0, acc 1.
    one_hot = np.zeros((6, 32), "float32")
    one_hot[:, :6] = np.eye(6, dtype="float32")  # 3 pairs x 2 instances
    loss, accuracy = model.ranking_loss_and_accuracy(one_hot, one_hot)
    assert float(accuracy) == 1.0
    assert float(loss) == pytest.approx(0.0)
    # Reversed positives: each anchor's positive is another instance's.
    loss, accuracy = model.ranking_loss_and_accuracy(one_hot, one_hot[::-1])
    assert float(loss) > 0.0 and float(accuracy) < 1.0


def test_fits_on_real_images_with_the_graph_callback_and_loss_falls(tmp_path):
    keras.utils.set_random_seed(0)
    images = cifar10_images(64)
    model = _small()
    model.compile()
    graph = TransitiveGraph(images, num_neighbors=2, seed=0)
    update = TransitiveGraphUpdate(graph, every=8)
    history = model.fit(graph.dataset(16), epochs=8, verbose=0, callbacks=[update])
    losses = history.history["pretext_loss"]
    print("losses", losses)
    assert np.isfinite(losses).all()
    # The positives change when the graph is rebuilt, so compare the mean of
    # the last two epochs with the first.
    assert np.mean(losses[-2:]) < 0.85 * losses[0]
    assert graph.rebuilds == 1 + 32 // 8
    assert not np.any(graph.neighbors == np.arange(64)[:, None])
    assert_keras_round_trip(model, inputs=images[:4], tmp_path=tmp_path, atol=1e-5)


def test_plain_image_batches_use_each_image_as_its_own_neighbour():
    model = _small()
    images = cifar10_images(4)
    doubled = np.asarray(model.batch_images(images))
    np.testing.assert_array_equal(doubled[:4], doubled[4:])
    assert isinstance(model, TransitiveInvariance)
